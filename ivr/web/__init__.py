"""The Flask app Twilio calls: webhooks, recordings, health, the browser phone, and what guards
them (signatures, proxies, body limits, settings, logs, deletion of Twilio's call records).
"""
