"""The Slack side of rancher-exoscale-bot: the Bolt app, its listeners, views and notices."""
