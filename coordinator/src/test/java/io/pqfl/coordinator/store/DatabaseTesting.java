package io.pqfl.coordinator.store;

import java.sql.Connection;

/** Tests that play a database writer reach the raw connection through here. */
public final class DatabaseTesting {
    private DatabaseTesting() {
    }

    public static Connection connection(Database db) {
        return db.connection();
    }
}
