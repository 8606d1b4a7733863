-- business: KPI tables declared by KPI definitions.
-- Its tables come with the issue that builds its service.
select plantmesh.ensure_store('business');
