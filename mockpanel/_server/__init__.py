"""The HTTP shell: parse, dispatch, render. No panel logic lives here."""
