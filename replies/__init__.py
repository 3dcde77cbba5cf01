"""What to answer: pure decisions over archived facts (who is owed a receipt, what it says, what needs a
person). archive/ calls them in the same transaction as the message that makes a reply owed, so they live
below it; bot/outgoing/ renders, queues and sends what they decide.

May import scoring/ and parsers/. archive/ and bot/ import it.
"""
