-- i3x: the I3X API's own state: API keys and subscriptions.
-- Its tables come with the issue that builds its service.
select plantmesh.ensure_store('i3x');
