from callplay._entry import main

raise SystemExit(main())
