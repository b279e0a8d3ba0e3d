"""The operations console: task history, queues, workers, retry and workflows in the admin."""
