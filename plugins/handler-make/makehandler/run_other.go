//go:build !unix

package makehandler

import (
	"context"
	"errors"
	"fmt"

	"github.com/mmbuild/mmbuild/sdk/handler"
)

func (h *Handler) run(context.Context, *command) (*handler.BuildResponse, error) {
	return nil, fmt.Errorf("running make: process groups: %w", errors.ErrUnsupported)
}
