"""The platform's public status page (Atlassian Statuspage JSON), read over HTTP."""
