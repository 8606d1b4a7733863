-- catalog: the catalog service's own state: data products, owners, lineage.
-- Its tables come with the issue that builds its service.
select plantmesh.ensure_store('catalog');
