-- Models and applications write their results into the raw store, from where the curated ETL refines
-- them like any plant event (D8.2 §4); they read what every reader reads.
select plantmesh.ensure_role('plantmesh_results_writer');
grant plantmesh_reader to plantmesh_results_writer;
grant usage on schema raw to plantmesh_results_writer;
grant insert on raw.events to plantmesh_results_writer;
