package s3store

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/mmbuild/mmbuild/sdk/plugin"
	"github.com/mmbuild/mmbuild/sdk/redact"
)

// The variables that adjust the AWS configuration where AWS's own settings
// do not reach. The standard AWS_* variables and shared files are read as
// every AWS tool reads them.
const (
	EnvEndpoint  = "MMBUILD_S3_ENDPOINT"   // an S3-compatible endpoint URL
	EnvRegion    = "MMBUILD_S3_REGION"     // overrides AWS_REGION and the profile's region
	EnvPathStyle = "MMBUILD_S3_PATH_STYLE" // true|false; default: true for IP and localhost endpoints
	EnvAnonymous = "MMBUILD_S3_ANONYMOUS"  // true: unsigned requests, for public buckets
)

// defaultRegion is used when nothing sets one: S3-compatible servers mostly
// ignore it, and AWS answers a wrong region with an error naming the right one.
const defaultRegion = "us-east-1"

// Transfer tuning defaults.
const (
	DefaultPartSize    = 16 << 20
	DefaultConcurrency = 4
	copyBufferSize     = 1 << 20
	// metaConcurrency bounds the metadata requests (HEAD, LIST) in flight
	// across all calls of a Store, as rclone's --checkers 8 does: a batch
	// of Stats overlaps its round trips without opening more connections
	// than the pool keeps.
	metaConcurrency = 8
	// maxParts is S3's limit on the parts of a multipart upload.
	maxParts = 10000
)

type options struct {
	awsConfig   *aws.Config
	getenv      func(string) string
	partSize    int64
	concurrency int
}

// Option configures a Store.
type Option func(*options) error

// WithAWSConfig uses cfg instead of loading the default AWS configuration
// (environment, shared files, web identity, instance role). The MMBUILD_S3_*
// variables still apply. Default: config.LoadDefaultConfig on first use.
func WithAWSConfig(cfg aws.Config) Option {
	return func(o *options) error { o.awsConfig = &cfg; return nil }
}

// WithGetenv reads the MMBUILD_S3_* settings through getenv. Default:
// os.Getenv.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error { o.getenv = getenv; return nil }
}

// WithPartSize sets the size of the parts of multipart uploads and ranged
// downloads, at least 5 MiB (S3's minimum part). Default: 16 MiB.
func WithPartSize(n int64) Option {
	return func(o *options) error {
		if n < 5<<20 || n > 5<<30 {
			return fmt.Errorf("part size %d: want 5 MiB to 5 GiB", n)
		}
		o.partSize = n
		return nil
	}
}

// WithConcurrency sets how many requests move data at once, across all the
// calls of a Store. Default: 4.
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 64 {
			return fmt.Errorf("concurrency %d: want 1 to 64", n)
		}
		o.concurrency = n
		return nil
	}
}

// settings are the MMBUILD_S3_* variables, checked.
type settings struct {
	endpoint  string
	region    string
	pathStyle *bool
	anonymous bool
}

func readSettings(getenv func(string) string) (settings, error) {
	var s settings
	if v := strings.TrimSpace(getenv(EnvEndpoint)); v != "" {
		if err := checkEndpoint(v); err != nil {
			return s, fmt.Errorf("%s: %w", EnvEndpoint, err)
		}
		s.endpoint = v
	}
	s.region = strings.TrimSpace(getenv(EnvRegion))
	if v := strings.TrimSpace(getenv(EnvPathStyle)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("%s=%q: want true or false", EnvPathStyle, v)
		}
		s.pathStyle = &b
	}
	if v := strings.TrimSpace(getenv(EnvAnonymous)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("%s=%q: want true or false", EnvAnonymous, v)
		}
		s.anonymous = b
	}
	return s, nil
}

// checkEndpoint accepts http(s)://host[:port][/path] without user info.
func checkEndpoint(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: want http(s)://host[:port]", redact.QuoteURL(v))
	}
	if u.User != nil {
		return fmt.Errorf("%s: credentials do not belong in the endpoint URL", redact.QuoteURL(v))
	}
	return nil
}

// pathStyleFor says whether an endpoint needs path-style requests
// (http://host/bucket/key): an IP address or localhost has no DNS names for
// virtual-hosted buckets.
func pathStyleFor(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return net.ParseIP(h) != nil || h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// clients are the two S3 clients of a Store, one configuration with two
// connection pools: data moves over connections with large buffers, and
// metadata requests (HEAD, LIST) over connections with the default small
// ones. Each pool keeps idle as many connections as requests of its kind
// may be in flight, so a batch reuses its connections instead of opening
// one per request (Go's default keeps 2 per host); and a server that
// closes every connection costs a small dial per HEAD, not 512 KiB of
// buffers to allocate and clear.
type clients struct {
	data, meta *s3.Client
}

// newClients builds the S3 clients from the AWS configuration and the
// MMBUILD_S3_* settings.
func newClients(ctx context.Context, o *options) (clients, error) {
	set, err := readSettings(o.getenv)
	if err != nil {
		return clients{}, err
	}
	dataHTTP := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = 2 * o.concurrency
		tr.ReadBufferSize = 256 << 10
		tr.WriteBufferSize = 256 << 10
		tr.ResponseHeaderTimeout = 5 * time.Minute
	})
	metaHTTP := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = metaConcurrency
		tr.ResponseHeaderTimeout = 5 * time.Minute
	})
	var cfg aws.Config
	if o.awsConfig != nil {
		cfg = o.awsConfig.Copy()
	} else {
		cfg, err = config.LoadDefaultConfig(ctx, config.WithHTTPClient(dataHTTP))
		if err != nil {
			return clients{}, fmt.Errorf("loading the AWS configuration: %w", err)
		}
	}
	if set.region != "" {
		cfg.Region = set.region
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if set.anonymous {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	// This backend sets SHA-256 checksums itself where it wants them.
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported

	endpoint := set.endpoint
	effective := endpoint
	if effective == "" {
		effective = os.Getenv("AWS_ENDPOINT_URL_S3")
	}
	if effective == "" {
		effective = aws.ToString(cfg.BaseEndpoint)
	}
	pathStyle := pathStyleFor(effective)
	if set.pathStyle != nil {
		pathStyle = *set.pathStyle
	}
	// The SDK logs to stderr by default, which belongs to the plugin's JSON
	// log stream: route it through the plugin's logger.
	cfg.Logger = sdkLogger{}
	client := func(h *awshttp.BuildableClient) *s3.Client {
		return s3.NewFromConfig(cfg, func(so *s3.Options) {
			so.HTTPClient = h
			if endpoint != "" {
				so.BaseEndpoint = aws.String(endpoint)
			}
			so.UsePathStyle = pathStyle
			// Ranged reads carry no checksum to validate; this is expected.
			so.DisableLogOutputChecksumValidationSkipped = true
		})
	}
	return clients{data: client(dataHTTP), meta: client(metaHTTP)}, nil
}

// sdkLogger passes the AWS SDK's log lines to the plugin's logger.
type sdkLogger struct{}

func (sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if c == logging.Warn {
		plugin.Logger().Warn(msg, "from", "aws-sdk")
		return
	}
	plugin.Logger().Debug(msg, "from", "aws-sdk")
}
