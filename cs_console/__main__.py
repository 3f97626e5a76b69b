from cs_console.cli import main

raise SystemExit(main())
