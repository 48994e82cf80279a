//! The catalogue of built-in security checks: for each [`CheckId`], its name and
//! remediation in English and Vietnamese, severity, whether it is safe to send to
//! production, what it needs from the suite, how many requests it may send and its
//! references (OWASP, CWE). Pure data; `security::checks` implements each id.

use crate::config::suite::Severity;
pub use crate::vocabulary::CheckId;
use serde::Serialize;

/// One built-in check.
#[derive(Debug, Clone, Copy)]
pub struct CheckInfo {
    /// Stable id used in suite files and reports.
    pub id: CheckId,
    /// Human name.
    pub name: &'static str,
    /// Human name in Vietnamese (reports written in Vietnamese).
    pub name_vi: &'static str,
    /// Severity of its finding.
    pub severity: Severity,
    /// Sends only GET/HEAD/OPTIONS requests that change nothing (the passive profile).
    pub production_safe: bool,
    /// Requests it may send of its own, beyond the shared requests (landing page,
    /// missing-page baseline, discovery) and the account session; the scanner refuses
    /// to send more.
    pub max_requests: u32,
    /// What to do about a finding.
    pub remediation: &'static str,
    /// What to do about a finding, in Vietnamese.
    pub remediation_vi: &'static str,
    /// OWASP (API Security Top 10 2023 or Top 10 2021) item and the ZAP rule it follows.
    pub reference: &'static str,
    /// The CWE the problem is an instance of.
    pub cwe: u32,
}

impl CheckInfo {
    /// Needs the suite's `[accounts]` (test accounts that log in).
    pub fn needs_accounts(&self) -> bool {
        self.id.account_need().is_some()
    }

    /// Judges the pages discovery found (the start page, redirects followed, the
    /// same-origin crawl), so a suite with it pays for discovery's requests.
    pub fn uses_discovery(&self) -> bool {
        use CheckId::*;
        matches!(
            self.id,
            HeaderCsp
                | HeaderClickjacking
                | HeaderXContentTypeOptions
                | HeaderHsts
                | HeaderCookieFlags
                | HeaderReferrerPolicy
                | DisclosureServerVersion
                | CorsOriginReflection
                | CorsWildcard
                | CorsNullOrigin
                | ContentMixed
                | ExposureEditorBackup
                | ExposureDirectoryListing
                | DebugDjango
                | DebugWerkzeug
                | DebugLaravel
                | DebugSymfony
                | DebugSpring
                | DebugAspnet
                | DebugRails
                | DebugExpress
                | DebugPhpErrors
                | DebugPhpinfo
                | DefaultInstallPage
                | RedirectOpen
        )
    }
}

/// How a check is shown by `stagegate checks --output json`.
#[derive(Serialize)]
struct CheckInfoView<'a> {
    id: CheckId,
    name: &'a str,
    name_vi: &'a str,
    severity: Severity,
    production_safe: bool,
    needs_accounts: bool,
    max_requests: u32,
    remediation: &'a str,
    remediation_vi: &'a str,
    reference: &'a str,
    cwe: u32,
}

impl Serialize for CheckInfo {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CheckInfoView {
            id: self.id,
            name: self.name,
            name_vi: self.name_vi,
            severity: self.severity,
            production_safe: self.production_safe,
            needs_accounts: self.needs_accounts(),
            max_requests: self.max_requests,
            remediation: self.remediation,
            remediation_vi: self.remediation_vi,
            reference: self.reference,
            cwe: self.cwe,
        }
        .serialize(serializer)
    }
}

/// Requests shared by several checks and sent at most once per run: the landing page
/// and the answer to a page that cannot exist.
pub const SHARED_REQUESTS: u32 = 2;

/// Redirects followed from one page before giving up: a browser allows about 20, but a
/// site that needs more than three hops to show its start page is already a finding's
/// worth of odd, and each hop is a request counted in the bound.
pub const MAX_REDIRECTS: u32 = 3;

/// Pages the same-origin crawl fetches beyond the start page: enough to reach the
/// pages one or two clicks from the index (where a forgotten page usually hides), few
/// enough that the passive profile stays a light, bounded visit.
pub const CRAWL_PAGES: u32 = 8;

/// Every request discovery may send beyond the landing page: the landing page's
/// redirects, `robots.txt`, `sitemap.xml` and the crawled pages with their redirects,
/// all from one allowance.
pub const DISCOVERY_REQUESTS: u32 = MAX_REDIRECTS + 2 + CRAWL_PAGES;

/// Every built-in check, in the order of [`CheckId::ALL`].
pub static CATALOGUE: &[CheckInfo] = &[
    CheckInfo {
        id: CheckId::HeaderCsp,
        name: "Content-Security-Policy missing or weak",
        name_vi: "Thiếu hoặc yếu Content-Security-Policy",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 0,
        remediation: "Send a Content-Security-Policy that restricts script sources, e.g. `default-src 'self'`, without `unsafe-inline`, `unsafe-eval` or `*`.",
        remediation_vi: "Gửi Content-Security-Policy giới hạn nguồn mã lệnh, ví dụ `default-src 'self'`, không có `unsafe-inline`, `unsafe-eval` hay `*`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rules 10038 and 10055",
        cwe: 693,
    },
    CheckInfo {
        id: CheckId::HeaderClickjacking,
        name: "Clickjacking protection missing",
        name_vi: "Thiếu bảo vệ chống clickjacking",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 0,
        remediation: "Send `Content-Security-Policy: frame-ancestors 'none'` (or `X-Frame-Options: DENY`).",
        remediation_vi: "Gửi `Content-Security-Policy: frame-ancestors 'none'` (hoặc `X-Frame-Options: DENY`).",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10020",
        cwe: 1021,
    },
    CheckInfo {
        id: CheckId::HeaderXContentTypeOptions,
        name: "X-Content-Type-Options missing",
        name_vi: "Thiếu tiêu đề X-Content-Type-Options",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 0,
        remediation: "Send `X-Content-Type-Options: nosniff` on every response.",
        remediation_vi: "Gửi `X-Content-Type-Options: nosniff` trong mọi phản hồi.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10021",
        cwe: 693,
    },
    CheckInfo {
        id: CheckId::HeaderHsts,
        name: "Strict-Transport-Security missing or short on HTTPS",
        name_vi: "Thiếu hoặc quá ngắn Strict-Transport-Security trên HTTPS",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 0,
        remediation: "On HTTPS send `Strict-Transport-Security: max-age=31536000; includeSubDomains`.",
        remediation_vi: "Trên HTTPS gửi `Strict-Transport-Security: max-age=31536000; includeSubDomains`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10035",
        cwe: 319,
    },
    CheckInfo {
        id: CheckId::HeaderCookieFlags,
        name: "Cookie without Secure, HttpOnly or SameSite",
        name_vi: "Cookie thiếu Secure, HttpOnly hoặc SameSite",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 0,
        remediation: "Set session cookies with `HttpOnly; SameSite=Lax` (or `Strict`) and, on HTTPS, `Secure`.",
        remediation_vi: "Đặt cookie phiên với `HttpOnly; SameSite=Lax` (hoặc `Strict`) và, trên HTTPS, `Secure`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rules 10010, 10011, 10054",
        cwe: 614,
    },
    CheckInfo {
        id: CheckId::HeaderReferrerPolicy,
        name: "Referrer-Policy missing or leaking full URLs",
        name_vi: "Thiếu Referrer-Policy hoặc để lộ đường dẫn đầy đủ",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 0,
        remediation: "Send `Referrer-Policy: no-referrer` or `strict-origin-when-cross-origin`, so dossier ids in URLs do not leak to other sites.",
        remediation_vi: "Gửi `Referrer-Policy: no-referrer` hoặc `strict-origin-when-cross-origin` để mã hồ sơ trong đường dẫn không lộ sang trang khác.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10112",
        cwe: 200,
    },
    CheckInfo {
        id: CheckId::DisclosureServerVersion,
        name: "Server or technology version disclosed",
        name_vi: "Lộ phiên bản máy chủ hoặc công nghệ",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 0,
        remediation: "Remove version numbers from `Server`, `X-Powered-By` and `X-AspNet-Version` headers.",
        remediation_vi: "Bỏ số phiên bản khỏi tiêu đề `Server`, `X-Powered-By` và `X-AspNet-Version`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rules 10036 and 10037",
        cwe: 497,
    },
    CheckInfo {
        id: CheckId::DisclosureVerboseErrors,
        name: "Stack trace or verbose error on malformed input",
        name_vi: "Lộ dấu vết ngăn xếp hoặc lỗi chi tiết khi dữ liệu sai định dạng",
        severity: Severity::Medium,
        production_safe: false,
        max_requests: 2,
        remediation: "Answer malformed input with a short error message; log details on the server, never in the response.",
        remediation_vi: "Trả lời dữ liệu sai định dạng bằng thông báo lỗi ngắn; ghi chi tiết ở nhật ký máy chủ, không đưa vào phản hồi.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 90022 (Application Error Disclosure)",
        cwe: 209,
    },
    CheckInfo {
        id: CheckId::CorsOriginReflection,
        name: "CORS reflects any origin with credentials",
        name_vi: "CORS phản chiếu mọi nguồn gốc kèm thông tin xác thực",
        severity: Severity::High,
        production_safe: true,
        max_requests: 3,
        remediation: "Allow only a fixed list of trusted origins; never echo the request's `Origin` together with `Access-Control-Allow-Credentials: true`.",
        remediation_vi: "Chỉ cho phép danh sách nguồn gốc tin cậy cố định; không lặp lại `Origin` của yêu cầu cùng `Access-Control-Allow-Credentials: true`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40040 (CORS Misconfiguration)",
        cwe: 942,
    },
    CheckInfo {
        id: CheckId::CorsWildcard,
        name: "CORS allows any origin",
        name_vi: "CORS cho phép mọi nguồn gốc",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 3,
        remediation: "Replace `Access-Control-Allow-Origin: *` with the list of origins that need access.",
        remediation_vi: "Thay `Access-Control-Allow-Origin: *` bằng danh sách nguồn gốc thật sự cần truy cập.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10098 (Cross-Domain Misconfiguration)",
        cwe: 942,
    },
    CheckInfo {
        id: CheckId::CorsNullOrigin,
        name: "CORS trusts the `null` origin with credentials",
        name_vi: "CORS tin nguồn gốc `null` kèm thông tin xác thực",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 3,
        remediation: "Never allow `Origin: null` (sandboxed frames and local files send it); allow only a fixed list of trusted origins.",
        remediation_vi: "Không bao giờ cho phép `Origin: null` (khung sandbox và tệp cục bộ gửi giá trị này); chỉ cho phép danh sách nguồn gốc tin cậy cố định.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40040 (CORS Misconfiguration)",
        cwe: 942,
    },
    CheckInfo {
        id: CheckId::TransportPlainHttp,
        name: "Plain HTTP served without redirect to HTTPS",
        name_vi: "Phục vụ HTTP thường mà không chuyển hướng sang HTTPS",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 1,
        remediation: "Answer every plain-HTTP request with a redirect to HTTPS (and send HSTS there).",
        remediation_vi: "Trả lời mọi yêu cầu HTTP thường bằng chuyển hướng sang HTTPS (và gửi HSTS ở đó).",
        reference: "OWASP API8:2023 Security Misconfiguration (unencrypted transport)",
        cwe: 319,
    },
    CheckInfo {
        id: CheckId::TlsCertificate,
        name: "TLS certificate expired, untrusted or for another host",
        name_vi: "Chứng chỉ TLS hết hạn, không tin cậy hoặc cấp cho máy chủ khác",
        severity: Severity::High,
        production_safe: true,
        max_requests: 0,
        remediation: "Serve a certificate from a trusted authority, valid today and issued for this host name; renew before it expires.",
        remediation_vi: "Dùng chứng chỉ do tổ chức tin cậy cấp, còn hiệu lực và đúng tên máy chủ; gia hạn trước khi hết hạn.",
        reference: "OWASP API8:2023 Security Misconfiguration (transport security); the certificate checks of testssl.sh and SSL Labs",
        cwe: 295,
    },
    CheckInfo {
        id: CheckId::ContentMixed,
        name: "HTTPS page loads content over plain HTTP",
        name_vi: "Trang HTTPS tải nội dung qua HTTP thường",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 0,
        remediation: "Load every script, style, image and form target of an HTTPS page over `https://` (or a relative URL); add `Content-Security-Policy: upgrade-insecure-requests`.",
        remediation_vi: "Tải mọi mã lệnh, kiểu trình bày, hình ảnh và đích biểu mẫu của trang HTTPS qua `https://` (hoặc đường dẫn tương đối); thêm `Content-Security-Policy: upgrade-insecure-requests`.",
        reference: "OWASP API8:2023 Security Misconfiguration (unencrypted transport); ZAP passive rule 10040 (Secure Pages Include Mixed Content)",
        cwe: 319,
    },
    CheckInfo {
        id: CheckId::ExposureGit,
        name: "Git repository exposed",
        name_vi: "Lộ kho mã Git",
        severity: Severity::High,
        production_safe: true,
        max_requests: 2,
        remediation: "Do not deploy the `.git` folder; deny `/.git/` at the web server.",
        remediation_vi: "Không triển khai thư mục `.git`; chặn `/.git/` tại máy chủ web.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40035 (Hidden File Finder: .git)",
        cwe: 527,
    },
    CheckInfo {
        id: CheckId::ExposureSvn,
        name: "Subversion working copy exposed",
        name_vi: "Lộ bản làm việc Subversion",
        severity: Severity::High,
        production_safe: true,
        max_requests: 2,
        remediation: "Do not deploy `.svn` folders; deny `/.svn/` at the web server.",
        remediation_vi: "Không triển khai thư mục `.svn`; chặn `/.svn/` tại máy chủ web.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 42 (Source Code Disclosure - SVN)",
        cwe: 527,
    },
    CheckInfo {
        id: CheckId::ExposureHg,
        name: "Mercurial repository exposed",
        name_vi: "Lộ kho mã Mercurial",
        severity: Severity::High,
        production_safe: true,
        max_requests: 1,
        remediation: "Do not deploy `.hg` folders; deny `/.hg/` at the web server.",
        remediation_vi: "Không triển khai thư mục `.hg`; chặn `/.hg/` tại máy chủ web.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40035 (Hidden File Finder)",
        cwe: 527,
    },
    CheckInfo {
        id: CheckId::ExposureDsStore,
        name: "macOS `.DS_Store` file exposed",
        name_vi: "Lộ tệp `.DS_Store` của macOS",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 1,
        remediation: "Remove `.DS_Store` files from the deployment and deny `/.DS_Store` at the web server; they list the folder's file names.",
        remediation_vi: "Xoá các tệp `.DS_Store` khỏi bản triển khai và chặn `/.DS_Store` tại máy chủ web; chúng liệt kê tên tệp trong thư mục.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40035 (Hidden File Finder: .DS_Store)",
        cwe: 538,
    },
    CheckInfo {
        id: CheckId::ExposureEditorBackup,
        name: "Editor swap or backup file of a page exposed",
        name_vi: "Lộ tệp tạm hoặc tệp sao lưu của trình soạn thảo bên cạnh trang",
        severity: Severity::High,
        production_safe: true,
        max_requests: 4,
        remediation: "Deploy from a clean build, never from an edited folder; deny `*~`, `*.bak`, `*.orig`, `*.swp` at the web server.",
        remediation_vi: "Triển khai từ bản dựng sạch, không từ thư mục đang sửa; chặn `*~`, `*.bak`, `*.orig`, `*.swp` tại máy chủ web.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 10095 (Backup File Disclosure)",
        cwe: 530,
    },
    CheckInfo {
        id: CheckId::ExposureEnv,
        name: "Environment file exposed",
        name_vi: "Lộ tệp biến môi trường",
        severity: Severity::Critical,
        production_safe: true,
        max_requests: 1,
        remediation: "Never serve `.env` files; keep secrets out of the web root.",
        remediation_vi: "Không bao giờ phục vụ tệp `.env`; giữ bí mật ngoài thư mục web.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40034 (.env/.git information leak)",
        cwe: 538,
    },
    CheckInfo {
        id: CheckId::ExposureBackup,
        name: "Backup or database dump exposed",
        name_vi: "Lộ tệp sao lưu hoặc bản kết xuất cơ sở dữ liệu",
        severity: Severity::High,
        production_safe: true,
        max_requests: 5,
        remediation: "Keep backups and dumps out of the web root; deny `*.sql`, `*.bak`, `*.zip` at the web server.",
        remediation_vi: "Để bản sao lưu ngoài thư mục web; chặn `*.sql`, `*.bak`, `*.zip` tại máy chủ web.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 10095 (Backup File Disclosure)",
        cwe: 530,
    },
    CheckInfo {
        id: CheckId::ExposureApiDocs,
        name: "API documentation exposed",
        name_vi: "Lộ tài liệu API",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 4,
        remediation: "Do not publish OpenAPI/Swagger documents or UIs on production, or put them behind authentication.",
        remediation_vi: "Không công bố tài liệu OpenAPI/Swagger trên môi trường thật, hoặc đặt sau xác thực.",
        reference: "OWASP API9:2023 Improper Inventory Management",
        cwe: 200,
    },
    CheckInfo {
        id: CheckId::ExposureDirectoryListing,
        name: "Directory listing enabled",
        name_vi: "Bật liệt kê thư mục",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 4,
        remediation: "Turn off directory indexes (`autoindex off`, `Options -Indexes`).",
        remediation_vi: "Tắt liệt kê thư mục (`autoindex off`, `Options -Indexes`).",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 0 (Directory Browsing)",
        cwe: 548,
    },
    CheckInfo {
        id: CheckId::DebugDjango,
        name: "Django debug page (DEBUG = True)",
        name_vi: "Trang gỡ lỗi Django (DEBUG = True)",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 0,
        remediation: "Set `DEBUG = False` in production settings and serve your own 404 and 500 pages; the debug page lists every URL pattern and the settings.",
        remediation_vi: "Đặt `DEBUG = False` trong cấu hình môi trường thật và dùng trang 404, 500 riêng; trang gỡ lỗi liệt kê mọi mẫu đường dẫn và cấu hình.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 10023 (Information Disclosure - Debug Error Messages)",
        cwe: 215,
    },
    CheckInfo {
        id: CheckId::DebugWerkzeug,
        name: "Werkzeug interactive debugger reachable",
        name_vi: "Truy cập được trình gỡ lỗi tương tác Werkzeug",
        severity: Severity::Critical,
        production_safe: true,
        max_requests: 1,
        remediation: "Never run Flask or Werkzeug with `debug=True` (or `FLASK_DEBUG=1`) outside a developer's machine: its console runs any Python code sent to it.",
        remediation_vi: "Không bao giờ chạy Flask hay Werkzeug với `debug=True` (hoặc `FLASK_DEBUG=1`) ngoài máy của lập trình viên: bảng điều khiển của nó chạy mọi mã Python được gửi tới.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 10023 (Debug Error Messages)",
        cwe: 489,
    },
    CheckInfo {
        id: CheckId::DebugLaravel,
        name: "Laravel debug page (Ignition or Whoops)",
        name_vi: "Trang gỡ lỗi Laravel (Ignition hoặc Whoops)",
        severity: Severity::High,
        production_safe: true,
        max_requests: 1,
        remediation: "Set `APP_DEBUG=false` in production and remove Ignition from production dependencies (`composer install --no-dev`).",
        remediation_vi: "Đặt `APP_DEBUG=false` trên môi trường thật và bỏ Ignition khỏi phụ thuộc của bản triển khai (`composer install --no-dev`).",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 10023 (Debug Error Messages)",
        cwe: 489,
    },
    CheckInfo {
        id: CheckId::DebugSymfony,
        name: "Symfony profiler or debug page exposed",
        name_vi: "Lộ trình phân tích hoặc trang gỡ lỗi Symfony",
        severity: Severity::High,
        production_safe: true,
        max_requests: 1,
        remediation: "Run Symfony with `APP_ENV=prod` and `APP_DEBUG=0`, and do not install the web profiler bundle in production.",
        remediation_vi: "Chạy Symfony với `APP_ENV=prod` và `APP_DEBUG=0`, không cài gói web profiler trên môi trường thật.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 10023 (Debug Error Messages)",
        cwe: 489,
    },
    CheckInfo {
        id: CheckId::DebugSpring,
        name: "Spring Boot error page with exception details",
        name_vi: "Trang lỗi Spring Boot kèm chi tiết ngoại lệ",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 1,
        remediation: "Set `server.error.include-stacktrace=never`, `server.error.include-message=never` and `server.error.whitelabel.enabled=false`, and serve your own error page.",
        remediation_vi: "Đặt `server.error.include-stacktrace=never`, `server.error.include-message=never` và `server.error.whitelabel.enabled=false`, dùng trang lỗi riêng.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 90022 (Application Error Disclosure)",
        cwe: 209,
    },
    CheckInfo {
        id: CheckId::DebugAspnet,
        name: "ASP.NET detailed error page",
        name_vi: "Trang lỗi chi tiết ASP.NET",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 1,
        remediation: "Set `<customErrors mode=\"RemoteOnly\"/>` (or `On`) and, in ASP.NET Core, use `UseExceptionHandler` instead of the developer exception page outside Development.",
        remediation_vi: "Đặt `<customErrors mode=\"RemoteOnly\"/>` (hoặc `On`) và, với ASP.NET Core, dùng `UseExceptionHandler` thay cho trang lỗi dành cho lập trình viên ngoài môi trường Development.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 90022 (Application Error Disclosure)",
        cwe: 209,
    },
    CheckInfo {
        id: CheckId::DebugRails,
        name: "Rails development error or routes page",
        name_vi: "Trang lỗi hoặc danh sách tuyến đường của Rails ở chế độ phát triển",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 1,
        remediation: "Run Rails with `RAILS_ENV=production` (`config.consider_all_requests_local = false`); the development pages show source, parameters and every route.",
        remediation_vi: "Chạy Rails với `RAILS_ENV=production` (`config.consider_all_requests_local = false`); các trang phát triển hiện mã nguồn, tham số và mọi tuyến đường.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 10023 (Debug Error Messages)",
        cwe: 215,
    },
    CheckInfo {
        id: CheckId::DebugExpress,
        name: "Node.js / Express stack trace in a page",
        name_vi: "Trang lộ dấu vết ngăn xếp Node.js / Express",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 0,
        remediation: "Run with `NODE_ENV=production` and add an error handler that answers a short message; never send `err.stack` to the client.",
        remediation_vi: "Chạy với `NODE_ENV=production` và thêm bộ xử lý lỗi trả thông báo ngắn; không bao giờ gửi `err.stack` cho phía khách.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 90022 (Application Error Disclosure)",
        cwe: 209,
    },
    CheckInfo {
        id: CheckId::DebugPhpErrors,
        name: "PHP error messages with file paths shown",
        name_vi: "Hiện thông báo lỗi PHP kèm đường dẫn tệp",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 0,
        remediation: "Set `display_errors = Off` in production `php.ini` and log errors instead (`log_errors = On`).",
        remediation_vi: "Đặt `display_errors = Off` trong `php.ini` của môi trường thật và ghi lỗi vào nhật ký (`log_errors = On`).",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 90022 (Application Error Disclosure)",
        cwe: 209,
    },
    CheckInfo {
        id: CheckId::DebugPhpinfo,
        name: "phpinfo() page exposed",
        name_vi: "Lộ trang phpinfo()",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 2,
        remediation: "Delete `phpinfo()` pages from the web root; they show the configuration, paths and environment variables.",
        remediation_vi: "Xoá các trang `phpinfo()` khỏi thư mục web; chúng hiện cấu hình, đường dẫn và biến môi trường.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 10023 (Information Disclosure - Debug Error Messages)",
        cwe: 200,
    },
    CheckInfo {
        id: CheckId::StatusApache,
        name: "Apache server-status or server-info exposed",
        name_vi: "Lộ trang server-status hoặc server-info của Apache",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 2,
        remediation: "Restrict `/server-status` and `/server-info` to the monitoring host (`Require ip …`) or unload `mod_status` and `mod_info`.",
        remediation_vi: "Giới hạn `/server-status` và `/server-info` cho máy giám sát (`Require ip …`) hoặc bỏ `mod_status` và `mod_info`.",
        reference: "OWASP API8:2023 Security Misconfiguration; OWASP API9:2023 Improper Inventory Management",
        cwe: 200,
    },
    CheckInfo {
        id: CheckId::StatusNginx,
        name: "nginx stub_status exposed",
        name_vi: "Lộ trang stub_status của nginx",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 2,
        remediation: "Serve `stub_status` only on an internal listener, or `allow` the monitoring host and `deny all`.",
        remediation_vi: "Chỉ phục vụ `stub_status` trên cổng nội bộ, hoặc `allow` máy giám sát và `deny all`.",
        reference: "OWASP API8:2023 Security Misconfiguration",
        cwe: 200,
    },
    CheckInfo {
        id: CheckId::StatusPrometheusMetrics,
        name: "Prometheus metrics served without authentication",
        name_vi: "Số đo Prometheus được phục vụ không cần xác thực",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 1,
        remediation: "Serve `/metrics` on an internal port or network, or require the scraper's credentials; metrics reveal routes, versions and load.",
        remediation_vi: "Phục vụ `/metrics` trên cổng hoặc mạng nội bộ, hoặc yêu cầu thông tin xác thực của máy thu thập; số đo để lộ tuyến đường, phiên bản và tải.",
        reference: "OWASP API8:2023 Security Misconfiguration; OWASP API9:2023 Improper Inventory Management",
        cwe: 200,
    },
    CheckInfo {
        id: CheckId::StatusPprof,
        name: "Go pprof profiling endpoints exposed",
        name_vi: "Lộ các điểm cuối phân tích hiệu năng pprof của Go",
        severity: Severity::High,
        production_safe: true,
        max_requests: 1,
        remediation: "Do not register `net/http/pprof` on the public server; serve it on a loopback-only listener.",
        remediation_vi: "Không đăng ký `net/http/pprof` trên máy chủ công khai; phục vụ nó trên cổng chỉ nghe loopback.",
        reference: "OWASP API8:2023 Security Misconfiguration; OWASP API4:2023 Unrestricted Resource Consumption",
        cwe: 215,
    },
    CheckInfo {
        id: CheckId::StatusActuator,
        name: "Spring Boot actuator endpoints exposed",
        name_vi: "Lộ các điểm cuối actuator của Spring Boot",
        severity: Severity::High,
        production_safe: true,
        max_requests: 2,
        remediation: "Expose only `health` over HTTP (`management.endpoints.web.exposure.include=health`), or move actuator to an internal port with authentication.",
        remediation_vi: "Chỉ công khai `health` qua HTTP (`management.endpoints.web.exposure.include=health`), hoặc chuyển actuator sang cổng nội bộ có xác thực.",
        reference: "OWASP API8:2023 Security Misconfiguration; OWASP API9:2023 Improper Inventory Management",
        cwe: 215,
    },
    CheckInfo {
        id: CheckId::StatusObservabilityApi,
        name: "Prometheus, Grafana or Kibana API open without authentication",
        name_vi: "API Prometheus, Grafana hoặc Kibana mở không cần xác thực",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 3,
        remediation: "Put monitoring tools behind authentication and an internal network; never route their APIs through the public site.",
        remediation_vi: "Đặt các công cụ giám sát sau xác thực và trong mạng nội bộ; không bao giờ định tuyến API của chúng qua trang công khai.",
        reference: "OWASP API8:2023 Security Misconfiguration; OWASP API9:2023 Improper Inventory Management",
        cwe: 306,
    },
    CheckInfo {
        id: CheckId::AdminConsole,
        name: "Administration console open without authentication",
        name_vi: "Bảng điều khiển quản trị mở không cần xác thực",
        severity: Severity::High,
        production_safe: true,
        max_requests: 3,
        remediation: "Require authentication on every administration console (Tomcat manager, phpMyAdmin, Jenkins) and keep them off the public site.",
        remediation_vi: "Yêu cầu xác thực ở mọi bảng điều khiển quản trị (Tomcat manager, phpMyAdmin, Jenkins) và không đặt chúng trên trang công khai.",
        reference: "OWASP API5:2023 Broken Function Level Authorization; OWASP API8:2023 Security Misconfiguration",
        cwe: 306,
    },
    CheckInfo {
        id: CheckId::DefaultInstallPage,
        name: "Default installation page served",
        name_vi: "Phục vụ trang mặc định sau cài đặt",
        severity: Severity::Low,
        production_safe: true,
        max_requests: 0,
        remediation: "Replace the web server's or framework's default page with the application, or remove the default site.",
        remediation_vi: "Thay trang mặc định của máy chủ web hoặc khung ứng dụng bằng ứng dụng thật, hoặc xoá trang mặc định.",
        reference: "OWASP API8:2023 Security Misconfiguration; OWASP API9:2023 Improper Inventory Management",
        cwe: 1188,
    },
    CheckInfo {
        id: CheckId::RedirectOpen,
        name: "Open redirect to any site",
        name_vi: "Chuyển hướng mở tới bất kỳ trang nào",
        severity: Severity::Medium,
        production_safe: true,
        max_requests: 3,
        remediation: "Redirect only to relative paths or to a fixed list of allowed hosts; ignore or refuse any other target.",
        remediation_vi: "Chỉ chuyển hướng tới đường dẫn tương đối hoặc danh sách máy chủ được phép cố định; bỏ qua hoặc từ chối mọi đích khác.",
        reference: "OWASP Top 10 2021 A01 Broken Access Control (Unvalidated Redirects); ZAP rule 10028 (Open Redirect)",
        cwe: 601,
    },
    CheckInfo {
        id: CheckId::MethodTrace,
        name: "HTTP TRACE enabled",
        name_vi: "Bật phương thức HTTP TRACE",
        severity: Severity::Medium,
        production_safe: false,
        max_requests: 1,
        remediation: "Disable the TRACE method at the web server and load balancer.",
        remediation_vi: "Tắt phương thức TRACE tại máy chủ web và bộ cân bằng tải.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 90028 (Insecure HTTP Method)",
        cwe: 693,
    },
    CheckInfo {
        id: CheckId::AuthMissing,
        name: "Protected endpoint answers without authentication",
        name_vi: "Điểm cuối cần bảo vệ trả lời khi không xác thực",
        severity: Severity::High,
        production_safe: false,
        max_requests: 0,
        remediation: "Require a valid token on every endpoint that returns personal data.",
        remediation_vi: "Yêu cầu mã thông báo hợp lệ ở mọi điểm cuối trả về dữ liệu cá nhân.",
        reference: "OWASP API2:2023 Broken Authentication",
        cwe: 306,
    },
    CheckInfo {
        id: CheckId::AuthTamperedToken,
        name: "Tampered token accepted",
        name_vi: "Chấp nhận mã thông báo bị sửa đổi",
        severity: Severity::Critical,
        production_safe: false,
        max_requests: 1,
        remediation: "Verify every token's signature with the server's key before trusting its claims.",
        remediation_vi: "Kiểm tra chữ ký của mọi mã thông báo bằng khoá của máy chủ trước khi tin các thông tin trong đó.",
        reference: "OWASP API2:2023 Broken Authentication",
        cwe: 347,
    },
    CheckInfo {
        id: CheckId::AuthAlgNone,
        name: "Unsigned (`alg: none`) token accepted",
        name_vi: "Chấp nhận mã thông báo không ký (`alg: none`)",
        severity: Severity::Critical,
        production_safe: false,
        max_requests: 1,
        remediation: "Accept only the signing algorithm you issue (e.g. HS256 or RS256); reject `alg: none`.",
        remediation_vi: "Chỉ chấp nhận thuật toán ký mà hệ thống cấp (ví dụ HS256 hoặc RS256); từ chối `alg: none`.",
        reference: "OWASP API2:2023 Broken Authentication",
        cwe: 347,
    },
    CheckInfo {
        id: CheckId::AuthExpiredToken,
        name: "Expired token accepted",
        name_vi: "Chấp nhận mã thông báo đã hết hạn",
        severity: Severity::High,
        production_safe: false,
        max_requests: 2,
        remediation: "Check the `exp` claim of every token and refuse expired ones.",
        remediation_vi: "Kiểm tra trường `exp` của mọi mã thông báo và từ chối mã đã hết hạn.",
        reference: "OWASP API2:2023 Broken Authentication",
        cwe: 613,
    },
    CheckInfo {
        id: CheckId::AuthzObjectLevel,
        name: "One account reads another account's object",
        name_vi: "Tài khoản này đọc được đối tượng của tài khoản khác",
        severity: Severity::High,
        production_safe: false,
        max_requests: 1,
        remediation: "Check on every object access that the object belongs to the caller; answer others like a missing object.",
        remediation_vi: "Ở mỗi lần truy cập, kiểm tra đối tượng thuộc về người gọi; trả lời như đối tượng không tồn tại nếu không phải.",
        reference: "OWASP API1:2023 Broken Object Level Authorization",
        cwe: 639,
    },
    CheckInfo {
        id: CheckId::AuthzFunctionLevel,
        name: "Citizen token accepted on an officer endpoint",
        name_vi: "Mã thông báo công dân được chấp nhận ở điểm cuối của cán bộ",
        severity: Severity::High,
        production_safe: false,
        max_requests: 8,
        remediation: "Check the caller's role on every administrative endpoint, not only in the user interface.",
        remediation_vi: "Kiểm tra vai trò của người gọi ở mọi điểm cuối quản trị, không chỉ ở giao diện.",
        reference: "OWASP API5:2023 Broken Function Level Authorization",
        cwe: 285,
    },
    CheckInfo {
        id: CheckId::ExposureExcessiveData,
        name: "Response exposes sensitive fields",
        name_vi: "Phản hồi lộ trường dữ liệu nhạy cảm",
        severity: Severity::Medium,
        production_safe: false,
        max_requests: 0,
        remediation: "Return only the fields the client needs; never password hashes, secrets or internal notes.",
        remediation_vi: "Chỉ trả các trường phía khách cần; không bao giờ trả băm mật khẩu, bí mật hay ghi chú nội bộ.",
        reference: "OWASP API3:2023 Broken Object Property Level Authorization",
        cwe: 213,
    },
    CheckInfo {
        id: CheckId::CacheSensitive,
        name: "Personal response may be cached",
        name_vi: "Phản hồi cá nhân có thể bị lưu đệm",
        severity: Severity::Medium,
        production_safe: false,
        max_requests: 0,
        remediation: "Send `Cache-Control: no-store` on every authenticated response.",
        remediation_vi: "Gửi `Cache-Control: no-store` trong mọi phản hồi đã xác thực.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10015",
        cwe: 524,
    },
    CheckInfo {
        id: CheckId::RatelimitMissing,
        name: "No rate limiting on failed logins",
        name_vi: "Không giới hạn số lần đăng nhập sai",
        severity: Severity::Medium,
        production_safe: false,
        max_requests: RATE_LIMIT_ATTEMPTS,
        remediation: "Limit failed logins per account and per client (answer 429 with Retry-After).",
        remediation_vi: "Giới hạn số lần đăng nhập sai theo tài khoản và theo máy khách (trả lời 429 kèm Retry-After).",
        reference: "OWASP API4:2023 Unrestricted Resource Consumption",
        cwe: 307,
    },
];

/// Failed logins the rate-limit check sends at most: enough to pass any sensible limit
/// (5–10 attempts a minute is common), few enough not to lock out a real account (it
/// logs in as an account that cannot exist).
pub const RATE_LIMIT_ATTEMPTS: u32 = 20;

/// The catalogue entry of a check.
pub fn info(id: CheckId) -> &'static CheckInfo {
    // CATALOGUE is in CheckId::ALL order (a test below checks it), so the index is the
    // entry; the search is the fallback that cannot fail for a listed id.
    let index = CheckId::ALL.iter().position(|c| *c == id).unwrap_or(0);
    match CATALOGUE.get(index) {
        Some(entry) if entry.id == id => entry,
        _ => CATALOGUE
            .iter()
            .find(|c| c.id == id)
            .unwrap_or(&CATALOGUE[0]),
    }
}

/// Finds a check by its written id.
pub fn lookup(id: &str) -> Option<&'static CheckInfo> {
    id.parse::<CheckId>().ok().map(info)
}

/// Scan profiles of the ad-hoc `scan` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Production-safe checks only: GET, HEAD and OPTIONS, bounded.
    Passive,
    /// Every check that needs no test accounts.
    Full,
}

impl Profile {
    /// Its name on the command line and in `scan --output json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Passive => "passive",
            Profile::Full => "full",
        }
    }

    /// The checks the profile runs, in catalogue order.
    pub fn checks(self) -> Vec<&'static CheckInfo> {
        CATALOGUE
            .iter()
            .filter(|c| !c.needs_accounts() && (self == Profile::Full || c.production_safe))
            .collect()
    }

    /// The most requests the profile may send (the scanner enforces it).
    pub fn request_bound(self) -> u32 {
        let checks = self.checks();
        let discovery = if checks.iter().any(|c| c.uses_discovery()) {
            DISCOVERY_REQUESTS
        } else {
            0
        };
        SHARED_REQUESTS + discovery + checks.iter().map(|c| c.max_requests).sum::<u32>()
    }
}

/// The most requests the passive profile sends, as stated in the README and counted at
/// the server by the tests.
pub const PASSIVE_BOUND: u32 = 80;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_catalogue_has_every_id_once_in_order_and_every_entry_is_complete() {
        let ids: Vec<CheckId> = CATALOGUE.iter().map(|c| c.id).collect();
        assert_eq!(ids, CheckId::ALL);
        let unique: BTreeSet<CheckId> = ids.iter().copied().collect();
        assert_eq!(unique.len(), CATALOGUE.len());
        for c in CATALOGUE {
            assert!(
                !c.remediation.is_empty()
                    && !c.remediation_vi.is_empty()
                    && c.remediation != c.remediation_vi
                    && !c.name_vi.is_empty()
                    && c.name != c.name_vi
                    && c.cwe > 0,
                "{}",
                c.id
            );
            assert!(
                c.reference.contains("OWASP"),
                "{} names no OWASP item",
                c.id
            );
            assert!(std::ptr::eq(info(c.id), c));
        }
        assert!(CATALOGUE.len() >= 45, "{}", CATALOGUE.len());
    }

    #[test]
    fn passive_profile_is_production_safe_and_within_its_stated_bound() {
        let passive = Profile::Passive.checks();
        assert!(passive.iter().all(|c| c.production_safe));
        assert!(passive.len() >= 10);
        assert!(
            Profile::Passive.request_bound() <= PASSIVE_BOUND,
            "{}",
            Profile::Passive.request_bound()
        );
        assert!(Profile::Full.checks().len() > passive.len());
    }
}
