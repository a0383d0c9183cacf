package s3store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/mmbuild/mmbuild/sdk/storage"
)

// Error codes S3 and S3-compatible servers answer with, by the sentinel of
// the storage contract they map to.
var (
	notExistCodes = map[string]bool{
		"NoSuchKey": true, "NoSuchBucket": true, "NotFound": true, "NoSuchUpload": true,
	}
	permissionCodes = map[string]bool{
		"AccessDenied": true, "Forbidden": true, "InvalidAccessKeyId": true,
		"SignatureDoesNotMatch": true, "AllAccessDisabled": true, "AccountProblem": true,
		"ExpiredToken": true, "InvalidToken": true, "TokenRefreshRequired": true,
		"InvalidSecurity": true, "RequestTimeTooSkewed": true, "UnauthorizedAccess": true,
		// versitygw answers an unknown access key with 404 and this code.
		"XAdminUserNotFound": true,
	}
	invalidCodes = map[string]bool{"InvalidBucketName": true, "KeyTooLongError": true}
)

// s3Error is a failed S3 call: a short message (the operation, the HTTP
// status, the server's code and message) over the SDK's error.
type s3Error struct {
	msg string
	err error
}

func (e *s3Error) Error() string { return e.msg }
func (e *s3Error) Unwrap() error { return e.err }

// classify wraps err, the error of an S3 call about url, with the sentinel
// of the storage contract it maps to, keeping the SDK's error in the chain.
// The message names the URL and the cause; no credential ever reaches it
// (the SDK's messages hold none, and URLs with user info are refused).
func classify(url, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", op, url, err)
	}
	status := 0
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		status = re.Response.StatusCode
	}
	code, detail := "", ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, detail = ae.ErrorCode(), ae.ErrorMessage()
	}

	var sentinel error
	switch {
	case permissionCodes[code]:
		sentinel = fs.ErrPermission
	case notExistCodes[code]:
		sentinel = fs.ErrNotExist
	case invalidCodes[code]:
		sentinel = storage.ErrInvalidURL
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		sentinel = fs.ErrPermission
	case status == http.StatusNotFound:
		sentinel = fs.ErrNotExist
	case status == http.StatusPreconditionFailed:
		sentinel = errChanged
	case isCredentialsError(err):
		sentinel = fs.ErrPermission
		detail = "no usable AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, " +
			"or MMBUILD_S3_ANONYMOUS=true for a public bucket)"
	}

	cause := err.Error()
	if code != "" || status != 0 {
		cause = fmt.Sprintf("%s: HTTP %d %s", op, status, code)
		if detail != "" {
			cause += ": " + detail
		}
	} else if detail != "" {
		cause = op + ": " + detail
	}
	var wrapped error = &s3Error{msg: cause, err: err}
	if sentinel != nil {
		return fmt.Errorf("%s: %w (%w)", url, sentinel, wrapped)
	}
	return fmt.Errorf("%s: %w", url, wrapped)
}

// errChanged reports an object replaced while it was read (a conditional
// request on the ETag first seen failed): another client wrote it. Get
// reads again; after its last try the error says storage.ErrChanged.
var errChanged = fmt.Errorf("the object %w", storage.ErrChanged)

// isCredentialsError reports whether the SDK found no usable credentials
// before sending a request. The SDK gives these errors no type of their own.
func isCredentialsError(err error) bool {
	msg := err.Error()
	for _, sign := range []string{"failed to retrieve credentials", "failed to refresh cached credentials", "get identity"} {
		if strings.Contains(msg, sign) {
			return true
		}
	}
	return false
}
