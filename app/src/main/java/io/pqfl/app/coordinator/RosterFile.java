package io.pqfl.app.coordinator;

import io.pqfl.app.CliException;
import io.pqfl.coordinator.verify.LogSafe;
import io.pqfl.crypto.ClientId;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code pqfl coordinator --roster FILE}: the client ids rounds sample among, one per line (UTF-8); blank lines and
 * lines starting with {@code #} are skipped, and spaces around an id are ignored. A line that is not a client id, an
 * id named twice, or a file that names no client is refused with the file and line, before anything starts.
 */
final class RosterFile {
    /** More ids than any roster needs (the simulation's limit is 30,000): a larger file is a mistake, not a roster. */
    static final int MAX_CLIENTS = 1_000_000;
    /** Longer than any id (64) with room for a comment; a longer line is not a roster's. */
    static final int MAX_LINE_CHARS = 1024;

    private RosterFile() {
    }

    static List<ClientId> read(Path file) {
        List<ClientId> ids = new ArrayList<>();
        Map<ClientId, Integer> lineOf = new HashMap<>();
        int n = 0;
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line; (line = readLine(in, file, n + 1)) != null; ) {
                n++;
                String id = (n == 1 && line.startsWith("\ufeff") ? line.substring(1) : line).strip();
                if (id.isEmpty() || id.startsWith("#")) {
                    continue;
                }
                if (!ClientId.isValid(id)) {
                    throw new CliException(file + ":" + n + ": '" + LogSafe.text(id, 80) + "' is not a client id (1-64 "
                            + "characters from A-Z a-z 0-9 . _ -, not starting with '.')");
                }
                ClientId c = new ClientId(id);
                Integer first = lineOf.putIfAbsent(c, n);
                if (first != null) {
                    throw new CliException(file + ":" + n + ": client " + id + " is already on the roster (line " + first
                            + ")");
                }
                if (ids.size() == MAX_CLIENTS) {
                    throw new CliException(file + ": more than " + MAX_CLIENTS + " clients");
                }
                ids.add(c);
            }
        } catch (NoSuchFileException e) {
            throw new CliException("--roster " + file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new CliException("--roster " + file + ":" + (n + 1) + ": not UTF-8 text");
        } catch (IOException e) {
            throw new CliException("--roster " + file + ": cannot read it: " + e.getMessage(), e);
        }
        if (ids.isEmpty()) {
            throw new CliException("--roster " + file + " names no client");
        }
        return ids;
    }

    /** The next line without its terminator, or null at the end; a line longer than any id and comment is refused. */
    private static String readLine(BufferedReader in, Path file, int n) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c; (c = in.read()) >= 0; ) {
            if (c == '\n') {
                return line.toString();
            }
            if (c != '\r') {
                if (line.length() == MAX_LINE_CHARS) {
                    throw new CliException(file + ":" + n + ": longer than " + MAX_LINE_CHARS + " characters; a roster "
                            + "has one client id per line");
                }
                line.append((char) c);
            }
        }
        return line.isEmpty() ? null : line.toString();
    }
}
