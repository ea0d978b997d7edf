"""The ptymux client: talks to the server, owns the user's terminal while attached."""
