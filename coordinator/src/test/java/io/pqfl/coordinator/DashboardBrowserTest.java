package io.pqfl.coordinator;

import static io.pqfl.protocol.ProtocolFixtures.tiny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.StatusRuntimeException;
import io.pqfl.coordinator.dashboard.DashboardServer;
import io.pqfl.coordinator.dashboard.DashboardState;
import io.pqfl.transport.KeyExchange;
import io.pqfl.transport.PqTls;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The dashboard in a real browser: headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, which
 * .ci/run installs) loads the page over HTTPS from a running coordinator, watches the round counter advance while
 * a three-round federation runs over gRPC, and shows a tampered update's rejection with its reason. Skipped, with
 * that reason, on a machine without Chromium; .ci/run fails if it was skipped there.
 */
class DashboardBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @Test
    void pageLoads_roundCounterAdvances_andARejectedUpdateShowsItsReason() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)");
        SelfSignedTls cert = SelfSignedTls.create();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // The test's certificate is self-signed; the key exchange is still negotiated (and checked below).
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--ignore-certificate-errors", "--user-data-dir=" + dir.resolve("chromium"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().withLogFile(dir.resolve("chromedriver.log").toFile()).build();
        try (TestFederation fed = TestFederation.start(dir, 2, b -> b.rounds(3));
             DashboardServer d = new DashboardServer("127.0.0.1", 0,
                     PqTls.httpsServer(List.of(cert.certificate()), cert.keys().getPrivate(), KeyExchange.HYBRID),
                     new DashboardState(fed.coordinator, "TLS 1.3", Clock.systemUTC()))) {
            WebDriver browser = new ChromeDriver(service, options);
            try {
                browser.manage().timeouts().pageLoadTimeout(WAIT);
                browser.get("https://127.0.0.1:" + d.port() + "/");
                Await.until(WAIT, "the page to show the federation id",
                        () -> text(browser, "federation-id").equals(fed.config.federationId()));
                assertThat(browser.getTitle()).isEqualTo("pqfl coordinator");
                Await.until(WAIT, "the page to name its connection's key exchange",
                        () -> text(browser, "page-connection").contains(KeyExchange.HYBRID_GROUP));

                List<TestClient> clients = fed.hello("c1", "c2");
                TestClient c1 = clients.get(0);
                TestClient c2 = clients.get(1);
                List<String> roundsSeen = new ArrayList<>();
                for (int round = 1; round <= 3; round++) {
                    TestClient.ReceivedTask t1 = c1.task(10_000);
                    TestClient.ReceivedTask t2 = c2.task(10_000);
                    int r = round;
                    Await.until(WAIT, "the page to show round " + r + " in progress",
                            () -> text(browser, "current-round").equals(Integer.toString(r)));
                    roundsSeen.add(text(browser, "current-round"));
                    if (round == 2) {
                        // Tampering in transit: a tensor byte changes after c1 signed.
                        assertThatThrownBy(() -> c1.send(c1.tampered(t1, tiny(1), 10)))
                                .isInstanceOf(StatusRuntimeException.class);
                        Await.until(WAIT, "the rejection to appear with its reason", () -> !browser
                                .findElements(By.cssSelector("#rejections tr[data-reason='BAD_SIGNATURE']")).isEmpty());
                        assertThat(browser.findElement(By.cssSelector("#rejections tr[data-reason='BAD_SIGNATURE'] td:nth-child(2)"))
                                .getText()).isEqualTo("1");
                        Await.until(WAIT, "c1's last status to be the rejection", () -> text(browser, "clients")
                                .contains("c1 rejected 2 BAD_SIGNATURE"));
                    }
                    c1.submit(t1, tiny(1), 10);
                    c2.submit(t2, tiny(3), 10);
                    Await.until(WAIT, "the page to count " + r + " closed rounds",
                            () -> text(browser, "closed-rounds").equals(Integer.toString(r)));
                }
                assertThat(roundsSeen).containsExactly("1", "2", "3");
                Await.until(WAIT, "the page to show the federation finished", () -> text(browser, "stage").equals("FINISHED"));
                assertThat(browser.findElements(By.cssSelector("#rounds tr"))).hasSize(3);
                assertThat(browser.findElement(By.cssSelector("#rounds tr[data-round='2']")).getText())
                        .startsWith("2 COMPLETED 2 2 1");
                assertThat(text(browser, "ledger")).contains("UPDATE_REJECTED").contains("BAD_SIGNATURE")
                        .contains("MODEL_PUBLISHED");
                assertThat(text(browser, "accepted-total")).isEqualTo("6");
            } finally {
                browser.quit();
            }
        }
    }

    private static String text(WebDriver browser, String id) {
        return browser.findElement(By.id(id)).getText();
    }
}
