import { describe, expect, it } from "vitest";
import { hasUrlCredentials, redactUrlPasswords } from "./url-credentials.js";

describe("passwords in URLs", () => {
  it("masks every URL's password, keeps user names, hosts and URLs without one", () => {
    expect(redactUrlPasswords("nats://shoal:s3cr3t@nats-0:4222,nats://shoal:s3cr3t@nats-1:4222", "[redacted]")).toBe("nats://shoal:[redacted]@nats-0:4222,nats://shoal:[redacted]@nats-1:4222");
    expect(redactUrlPasswords("connecting to redis://default:pw:with:colons@redis:6379/0 now", "***")).toBe("connecting to redis://default:***@redis:6379/0 now");
    expect(redactUrlPasswords("mqtts://dev@host:8883", "x")).toBe("mqtts://dev@host:8883");
    expect(redactUrlPasswords("nats://h1:4222,nats://u:p@h2", "x")).toBe("nats://h1:4222,nats://u:x@h2");
    expect(redactUrlPasswords("http://host:8123/path@x", "x")).toBe("http://host:8123/path@x");
    expect(redactUrlPasswords("user@example.com ://a:b@c", "x")).toBe("user@example.com ://a:b@c");
    expect(redactUrlPasswords("nats://u:@h", "x")).toBe("nats://u:@h");
  });

  it("tells whether a string holds one", () => {
    expect(hasUrlCredentials("nats://user:pass@host")).toBe(true);
    expect(hasUrlCredentials("nats://user@host")).toBe(false);
    expect(hasUrlCredentials("no url here @ all")).toBe(false);
  });

  it("is linear: a 4 MiB string without a URL password is answered at once", () => {
    const long = "a".repeat(4 * 1024 * 1024) + "@" + "b://".repeat(1000) + "@";
    // No timing assertion: a quadratic scan of this input would not finish within the test timeout.
    expect(redactUrlPasswords(long, "x")).toBe(long);
    expect(hasUrlCredentials(long)).toBe(false);
  });
});
