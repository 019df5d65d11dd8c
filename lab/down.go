package lab

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/pgchaos/pgchaos/exitcode"
)

// Removed counts what Down removed.
type Removed struct {
	Containers, Networks, Volumes int
}

// Down removes every Docker object labelled with the lab's name: containers
// (helpers included), networks, volumes. It is safe on a half-built or
// already-removed lab: nothing to remove is not an error.
func Down(ctx context.Context, name string) error {
	_, err := DownCount(ctx, name)
	return err
}

// DownCount is Down, also saying what it removed.
func DownCount(ctx context.Context, name string) (Removed, error) {
	var r Removed
	cli, err := Docker(ctx)
	if err != nil {
		return r, exitcode.InfraErr(fmt.Errorf("lab down: %w", err))
	}
	defer cli.Close()
	f := LabelFilter(name)
	var errs []error
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return r, exitcode.InfraErr(fmt.Errorf("lab down: list containers: %w", err))
	}
	for _, c := range cs {
		// Force: a paused or running container goes too. RemoveVolumes:
		// anonymous volumes an image declares go with their container.
		err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.Names, err))
			continue
		}
		r.Containers++
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list networks: %w", err))
	}
	for _, n := range ns {
		if err := cli.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		r.Networks++
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list volumes: %w", err))
	}
	for _, v := range vs.Volumes {
		if err := cli.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			continue
		}
		r.Volumes++
	}
	if len(errs) > 0 {
		return r, exitcode.InfraErr(fmt.Errorf("lab down %s: %w", name, errors.Join(errs...)))
	}
	return r, nil
}
