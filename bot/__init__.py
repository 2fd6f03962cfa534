"""WebFones Slack Dialer: place PBX calls from Slack."""
