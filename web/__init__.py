"""The web door: FastAPI + Jinja2, server-rendered, zh-CN first. Routes parse, call the service, render."""
