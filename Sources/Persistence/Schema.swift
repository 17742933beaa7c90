/// Kiln's schema, as an ordered list of migrations. Append; never edit a released migration.
public enum Schema {
    public static let migrations: [Migration] = [
        Migration(version: 1, name: "accounts, users, workspaces, tokens, workspace objects") { engine in
            [
                """
                CREATE TABLE accounts (
                    account_id TEXT PRIMARY KEY,
                    account_name TEXT NOT NULL,
                    created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE users (
                    user_id BIGINT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
                    user_name TEXT NOT NULL,
                    display_name TEXT NOT NULL,
                    is_admin BOOLEAN NOT NULL,
                    password_hash TEXT,
                    created_at BIGINT NOT NULL,
                    UNIQUE (account_id, user_name))
                """,
                """
                CREATE TABLE workspaces (
                    workspace_id BIGINT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
                    workspace_name TEXT NOT NULL,
                    deployment_name TEXT NOT NULL UNIQUE,
                    is_default BOOLEAN NOT NULL,
                    workspace_status TEXT NOT NULL,
                    created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE tokens (
                    token_id TEXT PRIMARY KEY,
                    workspace_id BIGINT NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
                    user_id BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
                    token_hash TEXT NOT NULL UNIQUE,
                    comment TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL)
                """,
                "CREATE INDEX tokens_owner ON tokens (workspace_id, user_id)",
                """
                CREATE TABLE workspace_objects (
                    object_id BIGINT PRIMARY KEY,
                    workspace_id BIGINT NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
                    path \(engine.byteOrderedText) NOT NULL,
                    parent_path \(engine.byteOrderedText) NOT NULL,
                    object_type TEXT NOT NULL,
                    language TEXT,
                    size BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    modified_at BIGINT NOT NULL,
                    content \(engine.blobType),
                    UNIQUE (workspace_id, path))
                """,
                "CREATE INDEX workspace_objects_parent ON workspace_objects (workspace_id, parent_path)",
            ]
        },
        Migration(version: 2, name: "account API resources, workspace lifecycle, passwords") { _ in
            [
                """
                CREATE TABLE account_resources (
                    resource_id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
                    kind TEXT NOT NULL,
                    resource_name TEXT,
                    body TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    UNIQUE (account_id, kind, resource_name))
                """,
                "CREATE INDEX account_resources_kind ON account_resources (account_id, kind)",
                "ALTER TABLE accounts ADD COLUMN deployment_name_prefix TEXT",
                "ALTER TABLE workspaces ADD COLUMN workspace_status_message TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE workspaces ADD COLUMN config TEXT NOT NULL DEFAULT '{}'",
            ]
        },
        Migration(version: 3, name: "service principals and the token signing key") { _ in
            [
                """
                CREATE TABLE service_principals (
                    user_id BIGINT PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
                    application_id TEXT NOT NULL UNIQUE,
                    secret_hash TEXT NOT NULL)
                """,
                "CREATE TABLE kiln_secrets (name TEXT PRIMARY KEY, secret TEXT NOT NULL)",
            ]
        },
        Migration(version: 4, name: "Lakebase resources and operations") { _ in
            [
                """
                CREATE TABLE lakebase_resources (
                    workspace_id BIGINT NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    parent TEXT NOT NULL,
                    project TEXT NOT NULL,
                    uid TEXT NOT NULL UNIQUE,
                    spec TEXT NOT NULL,
                    internal TEXT NOT NULL,
                    state TEXT NOT NULL,
                    port INTEGER UNIQUE,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    state_changed_at BIGINT NOT NULL,
                    deleted_at BIGINT,
                    purge_at BIGINT,
                    seq BIGINT NOT NULL,
                    PRIMARY KEY (workspace_id, name))
                """,
                "CREATE INDEX lakebase_resources_parent ON lakebase_resources (workspace_id, parent, kind, seq)",
                """
                CREATE TABLE lakebase_operations (
                    workspace_id BIGINT NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    project TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    done BOOLEAN NOT NULL,
                    result TEXT,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (workspace_id, name))
                """,
                "CREATE INDEX lakebase_operations_pending ON lakebase_operations (done, created_at)",
            ]
        },
        Migration(version: 5, name: "service principal secrets") { _ in
            [
                // A service principal may hold several secrets (Databricks' OAuth secrets API); each one it
                // had before comes along, made when its principal was and never expiring (9999-12-31, the
                // last moment an RFC 3339 time can say). `service_principals.secret_hash` is no longer read.
                """
                CREATE TABLE service_principal_secrets (
                    secret_id TEXT PRIMARY KEY,
                    user_id BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
                    secret_hash TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL)
                """,
                "CREATE INDEX service_principal_secrets_user ON service_principal_secrets (user_id)",
                """
                INSERT INTO service_principal_secrets (secret_id, user_id, secret_hash, created_at, expires_at)
                SELECT service_principals.application_id, service_principals.user_id, service_principals.secret_hash,
                    users.created_at, 253402300799000
                FROM service_principals JOIN users ON users.user_id = service_principals.user_id
                WHERE service_principals.secret_hash <> ''
                """,
            ]
        },
        Migration(version: 6, name: "groups, workspace assignments, principal attributes, token creators, object and project permissions") { _ in
            [
                // SCIM attributes of users and service principals; `entitlements` and `roles` are JSON lists of
                // their values.
                "ALTER TABLE users ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE",
                "ALTER TABLE users ADD COLUMN external_id TEXT",
                "ALTER TABLE users ADD COLUMN entitlements TEXT NOT NULL DEFAULT '[]'",
                "ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '[]'",
                """
                CREATE TABLE account_groups (
                    group_id BIGINT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
                    display_name TEXT NOT NULL,
                    external_id TEXT,
                    entitlements TEXT NOT NULL,
                    roles TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    UNIQUE (account_id, display_name))
                """,
                // A member is a user, a service principal or a group (ids are unique across the three).
                """
                CREATE TABLE group_members (
                    group_id BIGINT NOT NULL REFERENCES account_groups (group_id) ON DELETE CASCADE,
                    member_id BIGINT NOT NULL,
                    PRIMARY KEY (group_id, member_id))
                """,
                "CREATE INDEX group_members_member ON group_members (member_id)",
                // `permission` is USER or ADMIN. Every principal that could use a workspace before keeps it:
                // account admins as its admins, the others as its users.
                """
                CREATE TABLE workspace_assignments (
                    workspace_id BIGINT NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
                    principal_id BIGINT NOT NULL,
                    permission TEXT NOT NULL,
                    PRIMARY KEY (workspace_id, principal_id))
                """,
                "CREATE INDEX workspace_assignments_principal ON workspace_assignments (principal_id)",
                // Who made a token, when an admin made it for a service principal (`token-management`'s
                // on-behalf-of tokens); NULL for a token its owner made.
                "ALTER TABLE tokens ADD COLUMN created_by BIGINT",
                // Workspace object permissions: `level` (CAN_READ, CAN_RUN, CAN_EDIT, CAN_MANAGE) granted on an
                // object, and everything below a folder, to a principal (-1: the workspace's `users` group).
                // `/Shared` is open to all users and each home folder to its user, as they were before.
                """
                CREATE TABLE workspace_object_acls (
                    workspace_id BIGINT NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE,
                    object_id BIGINT NOT NULL REFERENCES workspace_objects (object_id) ON DELETE CASCADE,
                    principal_id BIGINT NOT NULL,
                    level TEXT NOT NULL,
                    PRIMARY KEY (object_id, principal_id))
                """,
                "CREATE INDEX workspace_object_acls_principal ON workspace_object_acls (principal_id)",
                """
                INSERT INTO workspace_object_acls (workspace_id, object_id, principal_id, level)
                SELECT workspace_id, object_id, -1, 'CAN_MANAGE' FROM workspace_objects WHERE path = '/Shared'
                """,
                """
                INSERT INTO workspace_object_acls (workspace_id, object_id, principal_id, level)
                SELECT workspace_objects.workspace_id, workspace_objects.object_id, users.user_id, 'CAN_MANAGE'
                FROM workspace_objects
                JOIN workspaces ON workspaces.workspace_id = workspace_objects.workspace_id
                JOIN users ON users.account_id = workspaces.account_id AND workspace_objects.path = '/Users/' || users.user_name
                """,
                // Lakebase project permissions: CAN_USE or CAN_MANAGE on a project (`projects/<id>`) for a
                // principal (-1: the workspace's `users` group). Every project made before stays every user's.
                """
                CREATE TABLE lakebase_project_acls (
                    workspace_id BIGINT NOT NULL,
                    project TEXT NOT NULL,
                    principal_id BIGINT NOT NULL,
                    level TEXT NOT NULL,
                    PRIMARY KEY (workspace_id, project, principal_id),
                    FOREIGN KEY (workspace_id, project) REFERENCES lakebase_resources (workspace_id, name) ON DELETE CASCADE)
                """,
                "CREATE INDEX lakebase_project_acls_principal ON lakebase_project_acls (workspace_id, principal_id)",
                """
                INSERT INTO lakebase_project_acls (workspace_id, project, principal_id, level)
                SELECT workspace_id, name, -1, 'CAN_MANAGE' FROM lakebase_resources WHERE kind = 'project'
                """,
                """
                INSERT INTO workspace_assignments (workspace_id, principal_id, permission)
                SELECT workspaces.workspace_id, users.user_id, CASE WHEN users.is_admin THEN 'ADMIN' ELSE 'USER' END
                FROM workspaces JOIN users ON users.account_id = workspaces.account_id
                """,
            ]
        },
        Migration(version: 7, name: "counts of the changes to what Kiln keeps in memory", statements: ChangeCounts.migration),
        Migration(version: 8, name: "a version of each workspace object's content", statements: contentVersions),
        Migration(version: 9, name: "workspace object content after its version", statements: contentLast),
        Migration(version: 10, name: "a count of the changes to workspace objects", statements: ChangeCounts.objectsMigration),
    ]

    /// Migration 8: `workspace_objects.content_version`, which moves with every change of an object's
    /// `content`, so that an export cache checks a notebook's version instead of reading its bytes. Kiln's
    /// own UPDATE raises it; a trigger raises it for any writer that changes `content` and leaves the version
    /// as it was (on PostgreSQL before the row is written, on SQLite after, as SQLite cannot change `NEW`).
    /// Object ids are not reused (random 16-digit numbers), so with the modification time (id, version) names one
    /// content; a writer that deletes a row and inserts it again under its id and time would defeat it.
    static func contentVersions(_ engine: DatabaseEngine) -> [String] {
        let column = "ALTER TABLE workspace_objects ADD COLUMN content_version BIGINT NOT NULL DEFAULT 0"
        switch engine {
        case .postgres:
            return [
                column,
                """
                CREATE FUNCTION kiln_bump_content_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                IF NEW.content_version = OLD.content_version THEN NEW.content_version := OLD.content_version + 1; END IF; \
                RETURN NEW; END $$
                """,
                """
                CREATE TRIGGER workspace_objects_content_version BEFORE UPDATE OF content ON workspace_objects
                FOR EACH ROW EXECUTE PROCEDURE kiln_bump_content_version()
                """,
            ]
        case .sqlite:
            return [
                column,
                sqliteContentVersionTrigger,
            ]
        }
    }

    /// The SQLite trigger of migration 8: raises `content_version` after a change of `content` that left it.
    private static let sqliteContentVersionTrigger = """
        CREATE TRIGGER workspace_objects_content_version AFTER UPDATE OF content ON workspace_objects
        WHEN NEW.content_version = OLD.content_version BEGIN
        UPDATE workspace_objects SET content_version = OLD.content_version + 1 WHERE object_id = NEW.object_id; END
        """

    /// Migration 9, SQLite only: `workspace_objects.content` becomes the table's last column. SQLite keeps a
    /// row's columns in their order, and what does not fit in a page goes on a chain of overflow pages, so
    /// reading `content_version` (migration 8's, added after `content`) walked the chain of the whole content:
    /// 16 pages for a 64 KiB notebook, on every export (its cache checks the version) and import (its
    /// UPDATE raises it). The column is copied to a new one at the end, dropped, and the new one renamed
    /// (SQLite 3.35's DROP COLUMN rewrites the table in place, so the rows that reference it keep their
    /// foreign keys). PostgreSQL keeps large values out of the row (TOAST): nothing to do there.
    static func contentLast(_ engine: DatabaseEngine) -> [String] {
        guard engine == .sqlite else { return [] }
        return [
            "DROP TRIGGER workspace_objects_content_version",
            "ALTER TABLE workspace_objects ADD COLUMN content_last BLOB",
            "UPDATE workspace_objects SET content_last = content",
            "ALTER TABLE workspace_objects DROP COLUMN content",
            "ALTER TABLE workspace_objects RENAME COLUMN content_last TO content",
            sqliteContentVersionTrigger,
        ]
    }
}
