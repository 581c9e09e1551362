"""The notifier: who is told what happened to a product, by webhook (Slack-compatible JSON) and by e-mail."""
