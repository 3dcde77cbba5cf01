"""What to answer: pure decisions over archived facts. `bot/` renders, queues and sends them."""
