/// Kiln's `databricks_auth`, the extension through which Lakebase users give a Databricks identity a
/// role that logs in with its OAuth database credential (Databricks, "Create Postgres roles":
/// `CREATE EXTENSION IF NOT EXISTS databricks_auth; SELECT databricks_create_role('<identity>', 'USER')`).
///
/// The compute layer adds these files to the share directory of every PostgreSQL build Kiln runs
/// (`ComputeConfiguration(extensionFiles:)`, kept by `PostgresBuilds`). The extension is trusted, so any role with CREATE on a
/// database can create it there; its functions run as the bootstrap superuser and read the identities
/// Kiln writes into the data directory (`identitiesFile`, refreshed on every OAuth login) with
/// `pg_read_file`.
///
/// `databricks_create_role(identity, type)` answers as Lakebase does:
/// - `22023` for a type other than `USER`, `SERVICE_PRINCIPAL` or `GROUP`, or an empty name;
/// - `42501` when the caller did not log in as a Databricks identity (its role is not one of the workspace's
///   identities, or has a password: credential roles have none, so a native password session cannot create
///   OAuth roles) or may not create roles (neither CREATEROLE nor a member of `databricks_superuser`);
/// - `42704` when the workspace has no identity of that name and type;
/// - `42710` when the role exists already.
/// The new role can log in, and the caller gets it WITH ADMIN OPTION (so it can grant and drop it).
/// `databricks_list_roles` lists the roles that belong to Databricks identities, with their type.
public enum DatabricksAuthExtension {
    /// The file in each data directory that lists the workspace's identities: a JSON object of name →
    /// `USER`, `SERVICE_PRINCIPAL` or `GROUP`.
    public static let identitiesFile = "kiln_identities.json"

    /// The extension's control and script files, by name.
    public static let files: [String: String] = [
        "databricks_auth.control": control,
        "databricks_auth--1.0.sql": script,
    ]

    static let control = """
        # databricks_auth: Postgres roles for Databricks identities (Kiln)
        comment = 'Postgres roles for Databricks identities that log in with OAuth database credentials'
        default_version = '1.0'
        relocatable = false
        trusted = true

        """

    static let script = """
        \\echo Use "CREATE EXTENSION databricks_auth" to load this file. \\quit

        CREATE FUNCTION databricks_identities() RETURNS jsonb
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$ SELECT coalesce(pg_read_file('\(identitiesFile)', 0, 67108864, true), '{}')::jsonb $$;
        REVOKE ALL ON FUNCTION databricks_identities() FROM PUBLIC;

        CREATE FUNCTION databricks_create_role(identity_name text, identity_type text) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $fn$
        DECLARE
            identities jsonb := @extschema@.databricks_identities();
            kind text := upper(btrim(identity_type));
            caller name := session_user;
        BEGIN
            IF identity_name IS NULL OR identity_name = '' THEN
                RAISE EXCEPTION 'the identity name must not be empty' USING ERRCODE = '22023';
            END IF;
            IF kind IS NULL OR kind NOT IN ('USER', 'SERVICE_PRINCIPAL', 'GROUP') THEN
                RAISE EXCEPTION 'invalid identity type "%"', identity_type
                    USING ERRCODE = '22023', HINT = 'Use USER, SERVICE_PRINCIPAL or GROUP.';
            END IF;
            IF NOT identities ? caller
                OR (SELECT rolpassword FROM pg_authid WHERE rolname = caller) IS NOT NULL THEN
                RAISE EXCEPTION 'permission denied to create a role for a Databricks identity'
                    USING ERRCODE = '42501',
                    DETAIL = format('Role "%s" did not log in as a Databricks identity; only sessions that logged in with an OAuth database credential can create roles for Databricks identities.', caller);
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = caller AND (rolcreaterole OR rolsuper))
                AND NOT pg_has_role(caller, 'databricks_superuser', 'MEMBER') THEN
                RAISE EXCEPTION 'permission denied to create role'
                    USING ERRCODE = '42501',
                    DETAIL = 'Only roles with CREATEROLE and members of databricks_superuser can create roles for Databricks identities.';
            END IF;
            IF identities ->> identity_name IS DISTINCT FROM kind THEN
                RAISE EXCEPTION 'Databricks identity "%" of type % not found in this workspace', identity_name, kind
                    USING ERRCODE = '42704';
            END IF;
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = identity_name) THEN
                RAISE EXCEPTION 'role "%" already exists', identity_name USING ERRCODE = '42710';
            END IF;
            EXECUTE format('CREATE ROLE %I LOGIN', identity_name);
            EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION', identity_name, caller);
        END
        $fn$;

        CREATE FUNCTION databricks_identity_roles(OUT role_name name, OUT identity_type text) RETURNS SETOF record
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$
            SELECT r.rolname, i.value FROM pg_roles r
            JOIN jsonb_each_text(@extschema@.databricks_identities()) i ON i.key = r.rolname
            ORDER BY r.rolname
        $$;

        CREATE VIEW databricks_list_roles AS SELECT role_name, identity_type FROM databricks_identity_roles();
        GRANT SELECT ON databricks_list_roles TO PUBLIC;

        """
}
