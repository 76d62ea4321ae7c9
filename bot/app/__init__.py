"""The application layer between the platform-neutral core and the surfaces:
the services opened once (`services`), the durable books of acked work
(`work`). Slack, Discord and the console keep only transport and rendering.
"""
