"""Loopback fakes of the WebFones API and the Slack Web API."""
