from callplay.cli import main

main()
