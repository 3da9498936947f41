"""`python -m ivr`: the `ivr` command, where the project is not installed as a package (a Heroku
dyno installs requirements.txt alone, so its Scheduler runs `python -m ivr delete-call-logs`)."""

from ivr.tools.cli import main

main()
