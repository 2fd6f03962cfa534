"""The Slack surface: the Bolt app, listeners, replies, sentences, Block Kit, transports."""
