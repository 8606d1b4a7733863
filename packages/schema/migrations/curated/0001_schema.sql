-- curated: validated, refined data declared by data-product definitions, and the asset model (objects, types, relationships) the I3X API serves.
-- Its tables come with the issue that builds its service.
select plantmesh.ensure_store('curated');
