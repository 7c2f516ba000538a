package dashboard_test

import (
	"context"
	"errors"

	"github.com/tiercache/tiercache/internal/dashboard"
)

// refusingSource refuses every action.
type refusingSource struct{ *liveSource }

func (refusingSource) Act(context.Context, dashboard.Action) error {
	return errors.New("refused by the test")
}
