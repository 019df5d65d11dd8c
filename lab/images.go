package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// NetToolsEnv names the environment variable that overrides the helper
// image network faults run in (it needs tc, iptables and, for link delays,
// pgchaos-linkproxy: see images/nettools).
const NetToolsEnv = "PGCHAOS_NETTOOLS_IMAGE"

// LocalRepo is where `make images` puts the images it builds from Debian's
// packages; they have the official images' interface.
const LocalRepo = "pgchaos-local"

// imageCandidates lists, best first, the images that can play a part: the
// official image, then the local build of the same interface.
// NetToolsImage is the network-tools image network faults run their
// helper containers from (PGCHAOS_NETTOOLS_IMAGE overrides it); a user's
// engine needs it for link faults.
func NetToolsImage() string { return imageCandidates("nettools", "")[0] }

func imageCandidates(kind, pgVersion string) []string {
	switch kind {
	case "postgres":
		return []string{"postgres:" + pgVersion, LocalRepo + "/postgres:" + pgVersion}
	case "haproxy":
		return []string{"haproxy:3.2", LocalRepo + "/haproxy:3.2"}
	default: // nettools
		// :2 carries pgchaos-linkproxy (link delay without netem); a new tag
		// so machines holding :1 build it.
		if img := os.Getenv(NetToolsEnv); img != "" {
			return []string{img}
		}
		return []string{LocalRepo + "/nettools:2"}
	}
}

// ResolveImages fills the empty fields of want: the first candidate present
// locally, else the official image if it can be pulled. An image named
// explicitly must be present or pullable.
func ResolveImages(ctx context.Context, cli *client.Client, pgVersion string, want Images) (Images, error) {
	var err error
	if want.Postgres, err = resolveImage(ctx, cli, want.Postgres, "postgres", pgVersion, "--postgres-image"); err != nil {
		return want, err
	}
	if want.HAProxy, err = resolveImage(ctx, cli, want.HAProxy, "haproxy", pgVersion, "--haproxy-image"); err != nil {
		return want, err
	}
	if want.NetTools == "" {
		// Only network faults need it: resolve lazily, remember the default.
		want.NetTools = imageCandidates("nettools", pgVersion)[0]
	}
	return want, nil
}

func resolveImage(ctx context.Context, cli *client.Client, explicit, kind, pgVersion, flag string) (string, error) {
	candidates := imageCandidates(kind, pgVersion)
	if explicit != "" {
		candidates = []string{explicit}
	}
	for _, ref := range candidates {
		if present(ctx, cli, ref) {
			return ref, nil
		}
	}
	pullErr := pull(ctx, cli, candidates[0])
	if pullErr == nil {
		return candidates[0], nil
	}
	what := kind
	if kind == "postgres" {
		what = "PostgreSQL " + pgVersion
	}
	if explicit != "" {
		return "", fmt.Errorf("image %s (%s) is not present and could not be pulled: %v", explicit, what, pullErr)
	}
	return "", fmt.Errorf("no %s image: none of %v is present, and %s could not be pulled (%v). "+
		"On a machine without a registry, build look-alikes from Debian's packages with `make images`, or name an image with %s",
		what, candidates, candidates[0], pullErr, flag)
}

func present(ctx context.Context, cli *client.Client, ref string) bool {
	_, err := cli.ImageInspect(ctx, ref)
	return err == nil
}

func pull(ctx context.Context, cli *client.Client, ref string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rc, err := cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	// The pull happens while the progress stream is read.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return err
	}
	if !present(ctx, cli, ref) {
		return fmt.Errorf("pull of %s finished but the image is not there", ref)
	}
	return nil
}
