package io.pqfl.coordinator;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.SocketFactory;

/**
 * One HTTP/1.1 GET over a raw socket, for the dashboard's tests: any {@code Host} header (a JDK client refuses to set
 * it), plain or TLS through the given socket factory, and a reply read by its Content-Length (the JDK's server ends
 * TLS connections without close_notify); {@code tlsProtocol} is the TLS session's, null over plain HTTP. Public, in the coordinator's test jar, for the command-line tests too.
 */
public record RawHttp(int status, String head, String body, String tlsProtocol) {
    private static final Pattern LENGTH = Pattern.compile("(?i)content-length: (\\d+)");

    /** The reply, or status -1 when the server closed the connection without one. */
    public static RawHttp get(SocketFactory sockets, int port, String host, String path) throws IOException {
        try (Socket socket = sockets.createSocket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            DataInputStream in = new DataInputStream(socket.getInputStream());
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                head.append((char) in.readUnsignedByte());
            }
            Matcher length = LENGTH.matcher(head);
            byte[] body = new byte[length.find() ? Integer.parseInt(length.group(1)) : 0];
            in.readFully(body);
            return new RawHttp(Integer.parseInt(head.toString().split(" ", 3)[1]), head.toString(),
                    new String(body, StandardCharsets.UTF_8),
                    socket instanceof javax.net.ssl.SSLSocket tls ? tls.getSession().getProtocol() : null);
        } catch (EOFException | java.net.SocketException e) {
            return new RawHttp(-1, "", "", null);
        }
    }

    /** A response header's value (names compared without case). */
    public Optional<String> header(String name) {
        return head.lines().filter(l -> l.toLowerCase(Locale.ROOT).startsWith(name.toLowerCase(Locale.ROOT) + ":"))
                .map(l -> l.substring(name.length() + 1).trim()).findFirst();
    }
}
