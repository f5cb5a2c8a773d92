from callplay.cli import main

raise SystemExit(main())
