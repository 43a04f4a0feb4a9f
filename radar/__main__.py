from radar.cli import main

raise SystemExit(main())
