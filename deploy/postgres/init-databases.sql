-- Called by init-databases.sh with psql variables (names and passwords come from .env).
-- Separate databases keep Airflow's metadata and the warehouse apart: separate backups, separate
-- grants, and analysts never see Airflow's tables (connections, variables).
CREATE ROLE :"airflow_user" LOGIN PASSWORD :'airflow_password';
CREATE DATABASE :"airflow_db" OWNER :"airflow_user";
REVOKE CONNECT ON DATABASE :"airflow_db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"airflow_db" TO :"airflow_user";

-- The pipeline's role owns the warehouse. CREATEROLE lets `framewatch db grant-analyst` (run by the
-- compose init service) create the analysts' read-only login role and grant it SELECT on the v_* views.
CREATE ROLE :"warehouse_user" LOGIN CREATEROLE PASSWORD :'warehouse_password';
CREATE DATABASE :"warehouse_db" OWNER :"warehouse_user";
