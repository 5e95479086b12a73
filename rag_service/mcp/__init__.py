"""MCP front door: the same collections, keys and answers as REST, as tools for agents.

`server.py` builds one MCP server (the official SDK's `MCPServer`) whose tools are `tools.py`; it is served over
Streamable HTTP at `/mcp` inside the API process (`api/app.py`) and over stdio by `rag-service mcp`.
"""
