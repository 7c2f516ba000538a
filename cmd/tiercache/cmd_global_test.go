package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiercache/tiercache/internal/pki"
)

// TestGlobalAndNodeFlagErrors: bad command lines of `global` and of the
// node's global wiring are usage errors naming what is wrong, before any
// socket is opened.
func TestGlobalAndNodeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	if err := pki.WriteDevPKI(dir, map[string]pki.Role{"us-east": pki.RoleServer}); err != nil {
		t.Fatal(err)
	}
	fed := []string{"--fed-ca", filepath.Join(dir, "ca.pem"), "--fed-cert", filepath.Join(dir, "us-east.pem"), "--fed-key", filepath.Join(dir, "us-east-key.pem")}
	for _, tc := range []struct {
		run  func(context.Context, []string, io.Writer, io.Writer) error
		args []string
		want string
	}{
		{runGlobal, []string{"--region", "us-east", "--meta", "127.0.0.1:1"}, "--id is required"},
		{runGlobal, []string{"--id", "g", "--meta", "127.0.0.1:1"}, "--region and --meta are required"},
		{runGlobal, []string{"--id", "g", "--region", "us-east"}, "--region and --meta are required"},
		{runGlobal, []string{"--id", "g", "--region", "us-east", "--meta", "127.0.0.1:1", "--insecure"}, "--fed-cert"},
		{runGlobal, append([]string{"--id", "g", "--region", "us-east", "--meta", "127.0.0.1:1"}, fed...), "need --ca, --cert and --key"},
		{runGlobal, []string{"--deploy", "local-3", "--id", "nope"}, `has no gateway "nope"`},
		{runGlobal, []string{"--id", "g", "extra"}, "unexpected argument"},
		{runNode, append([]string{"--region", "3"}, fed...), "needs a region name"},
		{runNode, []string{"--deploy", "local-3", "--id", "nope"}, `has no L2 node "nope"`},
	} {
		err := tc.run(context.Background(), tc.args, io.Discard, io.Discard)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a usage error naming %q", tc.args, err, tc.want)
		}
	}
	// The federation certificate must name the region the process serves.
	err := runGlobal(context.Background(), append([]string{"--id", "g", "--region", "eu-west", "--meta", "127.0.0.1:1", "--insecure"}, fed...), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `not region "eu-west"`) {
		t.Errorf("a certificate for another region: %v", err)
	}
}
