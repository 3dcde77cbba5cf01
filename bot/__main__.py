from bot.cli.group import main

if __name__ == "__main__":  # reader workers (bot/services/sandbox.py) import this module again: they must not run it
    main()
