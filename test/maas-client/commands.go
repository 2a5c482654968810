package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/juju/gomaasapi"
)

// storageList is a repeatable -storage flag, one spec each: label:size_gb[:tag+tag].
type storageList []gomaasapi.StorageSpec

func (s *storageList) String() string { return fmt.Sprint(*s) }
func (s *storageList) Set(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("storage %q: want label:size_gb[:tag+tag]", v)
	}
	size, err := strconv.Atoi(parts[1])
	if err != nil {
		return fmt.Errorf("storage %q: size %q is not a number", v, parts[1])
	}
	spec := gomaasapi.StorageSpec{Label: parts[0], Size: size}
	if len(parts) == 3 {
		spec.Tags = strings.Split(parts[2], "+")
	}
	*s = append(*s, spec)
	return nil
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected arguments %v", fs.Name(), fs.Args())}
	}
	return nil
}

// allocateFlags declares AllocateMachine's constraints on fs (MAAS's names).
func allocateFlags(fs *flag.FlagSet) func() gomaasapi.AllocateMachineArgs {
	var a gomaasapi.AllocateMachineArgs
	var tags, notTags, notInZone, notInPool strList
	var storage storageList
	fs.StringVar(&a.Hostname, "name", "", "hostname")
	fs.StringVar(&a.SystemId, "system-id", "", "system id")
	fs.StringVar(&a.Architecture, "arch", "", "architecture, e.g. amd64")
	fs.IntVar(&a.MinCPUCount, "cpu", 0, "minimum CPU count")
	fs.IntVar(&a.MinMemory, "mem", 0, "minimum memory, MiB")
	fs.Var(&tags, "tag", "required tag (repeat or comma-separate)")
	fs.Var(&notTags, "not-tag", "excluded tag")
	fs.StringVar(&a.Zone, "zone", "", "zone")
	fs.StringVar(&a.Pool, "pool", "", "resource pool")
	fs.Var(&notInZone, "not-in-zone", "excluded zone")
	fs.Var(&notInPool, "not-in-pool", "excluded pool")
	fs.Var(&storage, "storage", "disk constraint label:size_gb[:tag+tag] (repeat)")
	fs.StringVar(&a.AgentName, "agent-name", "", "agent name (Juju sets its model's UUID)")
	fs.StringVar(&a.Comment, "comment", "", "comment")
	fs.BoolVar(&a.DryRun, "dry-run", false, "match without allocating")
	return func() gomaasapi.AllocateMachineArgs {
		a.Tags, a.NotTags, a.NotInZone, a.NotInPool = tags, notTags, notInZone, notInPool
		a.Storage = storage
		return a
	}
}

// deployFlags declares Machine.Start's arguments; user data is read from a file and base64ed
// as gomaasapi's StartArgs asks.
func deployFlags(fs *flag.FlagSet) func() (gomaasapi.StartArgs, error) {
	var s gomaasapi.StartArgs
	userDataFile := fs.String("user-data-file", "", "user data to run on the machine")
	fs.StringVar(&s.DistroSeries, "distro-series", "", "release to deploy")
	fs.StringVar(&s.Kernel, "kernel", "", "kernel (hwe_kernel)")
	fs.StringVar(&s.Comment, "deploy-comment", "", "comment")
	return func() (gomaasapi.StartArgs, error) {
		if *userDataFile != "" {
			b, err := os.ReadFile(*userDataFile)
			if err != nil {
				return s, usageError{err.Error()}
			}
			s.UserData = base64.StdEncoding.EncodeToString(b)
		}
		return s, nil
	}
}

func cmdInventory(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("inventory", flag.ContinueOnError)
	if err := parse(fs, args); err != nil {
		return err
	}
	zones, err := c.Zones()
	if err != nil {
		return fail("zones", err)
	}
	var names []string
	for _, z := range zones {
		names = append(names, z.Name())
	}
	emit("zones", map[string]interface{}{"names": nonNil(names)})
	pools, err := c.Pools()
	if err != nil {
		return fail("pools", err)
	}
	names = nil
	for _, p := range pools {
		names = append(names, p.Name())
	}
	emit("pools", map[string]interface{}{"names": nonNil(names)})
	resources, err := c.BootResources()
	if err != nil {
		return fail("boot-resources", err)
	}
	var rs []map[string]interface{}
	for _, r := range resources {
		rs = append(rs, map[string]interface{}{
			"id": r.ID(), "name": r.Name(), "type": r.Type(), "architecture": r.Architecture(),
		})
	}
	emit("boot-resources", map[string]interface{}{"resources": nonNilMaps(rs)})
	tags, err := c.Tags()
	if err != nil {
		return fail("tags", err)
	}
	names = nil
	for _, t := range tags {
		names = append(names, t.Name())
	}
	emit("tags", map[string]interface{}{"names": nonNil(names)})
	return nil
}

// cmdNetworks reads what Juju's provider reads for networking and DNS: spaces (and their
// subnets), fabrics with their VLANs, domains, static routes.
func cmdNetworks(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("networks", flag.ContinueOnError)
	if err := parse(fs, args); err != nil {
		return err
	}
	spaces, err := c.Spaces()
	if err != nil {
		return fail("spaces", err)
	}
	var out []map[string]interface{}
	for _, s := range spaces {
		var cidrs []string
		for _, sub := range s.Subnets() {
			cidrs = append(cidrs, sub.CIDR())
		}
		out = append(out, map[string]interface{}{"id": s.ID(), "name": s.Name(), "subnets": nonNil(cidrs)})
	}
	emit("spaces", map[string]interface{}{"spaces": nonNilMaps(out)})
	fabrics, err := c.Fabrics()
	if err != nil {
		return fail("fabrics", err)
	}
	out = nil
	for _, f := range fabrics {
		out = append(out, map[string]interface{}{"id": f.ID(), "name": f.Name(), "vlans": len(f.VLANs())})
	}
	emit("fabrics", map[string]interface{}{"fabrics": nonNilMaps(out)})
	domains, err := c.Domains()
	if err != nil {
		return fail("domains", err)
	}
	var names []string
	for _, d := range domains {
		names = append(names, d.Name())
	}
	emit("domains", map[string]interface{}{"names": nonNil(names)})
	routes, err := c.StaticRoutes()
	if err != nil {
		return fail("static-routes", err)
	}
	emit("static-routes", map[string]interface{}{"count": len(routes)})
	return nil
}

func cmdList(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	var ids, hostnames, macs, tags strList
	var a gomaasapi.MachinesArgs
	fs.Var(&ids, "id", "system id (repeat)")
	fs.Var(&hostnames, "hostname", "hostname (repeat)")
	fs.Var(&macs, "mac", "MAC address (repeat)")
	fs.Var(&tags, "tag", "tag (repeat)")
	fs.StringVar(&a.Zone, "zone", "", "zone")
	fs.StringVar(&a.Pool, "pool", "", "pool")
	fs.StringVar(&a.AgentName, "agent-name", "", "agent name")
	if err := parse(fs, args); err != nil {
		return err
	}
	a.SystemIDs, a.Hostnames, a.MACAddresses, a.Tags = ids, hostnames, macs, tags
	machines, err := c.Machines(a)
	if err != nil {
		return fail("list", err)
	}
	var out []map[string]interface{}
	for _, m := range machines {
		out = append(out, machineSummary(m))
	}
	emit("list", map[string]interface{}{"count": len(machines), "machines": nonNilMaps(out)})
	return nil
}

func cmdAllocate(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("allocate", flag.ContinueOnError)
	constraints := allocateFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	_, err := allocate(c, constraints())
	return err
}

func allocate(c gomaasapi.Controller, a gomaasapi.AllocateMachineArgs) (gomaasapi.Machine, error) {
	if err := a.Validate(); err != nil {
		return nil, usageError{err.Error()}
	}
	m, matches, err := c.AllocateMachine(a)
	if err != nil {
		return nil, fail("allocate", err)
	}
	out := machineSummary(m)
	out["constraints_by_type"] = constraintSummary(matches)
	emit("allocate", out)
	return m, nil
}

// machineByID reads one machine with Machines(SystemIDs), as Juju's provider does.
func machineByID(c gomaasapi.Controller, step, id string) (gomaasapi.Machine, error) {
	if id == "" {
		return nil, usageError{step + ": -id is required"}
	}
	machines, err := c.Machines(gomaasapi.MachinesArgs{SystemIDs: []string{id}})
	if err != nil {
		return nil, fail(step, err)
	}
	if len(machines) != 1 || machines[0].SystemID() != id {
		return nil, fail(step, fmt.Errorf("machines/?id=%s returned %d machines", id, len(machines)))
	}
	return machines[0], nil
}

func cmdRead(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("read", flag.ContinueOnError)
	id := fs.String("id", "", "system id")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := machineByID(c, "read", *id)
	if err != nil {
		return err
	}
	emit("read", machineSummary(m))
	return nil
}

func cmdDeploy(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	id := fs.String("id", "", "system id")
	startArgs := deployFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := startArgs()
	if err != nil {
		return err
	}
	m, err := machineByID(c, "deploy", *id)
	if err != nil {
		return err
	}
	return deploy(m, s)
}

func deploy(m gomaasapi.Machine, s gomaasapi.StartArgs) error {
	if err := m.Start(s); err != nil {
		return fail("deploy", err)
	}
	out := machineSummary(m)
	raw, _ := base64.StdEncoding.DecodeString(s.UserData)
	out["user_data_bytes"] = len(raw)
	emit("deploy", out)
	return nil
}
