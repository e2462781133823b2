"""A local Slack: the Web API stand-in and a driver that plays the people, for tests and the demo.

sandbox = SlackSandbox("xoxb-token")
api_url = sandbox.start()                       # give the bot this as SLACK_API_URL
driver = SlackDriver(bot_events_url, signing_secret, sandbox)
"""

from sandbox.slack.driver import DriverResponse, SlackDriver, SubmitResult
from sandbox.slack.server import SlackApiCall, SlackSandbox

__all__ = ["DriverResponse", "SlackApiCall", "SlackDriver", "SlackSandbox", "SubmitResult"]
