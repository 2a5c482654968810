package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/juju/gomaasapi"
)

// waitFor polls Machines(SystemIDs: [id]) until the machine's status_name is want, printing one
// line per status change. A failed status (MAAS's "Failed …", "Broken") ends the wait at once
// with the machine's status message; the wait is bounded by timeout and by a poll count.
func waitFor(c gomaasapi.Controller, id, want string, timeout, interval time.Duration) error {
	step := "wait " + want
	t0 := time.Now()
	deadline := t0.Add(timeout)
	last := ""
	maxPolls := int(timeout/interval) + 2
	for i := 0; i < maxPolls; i++ {
		m, err := machineByID(c, step, id)
		if err != nil {
			return err
		}
		status := m.StatusName()
		if status != last {
			emit("status", map[string]interface{}{
				"system_id": id, "status_name": status, "status_message": m.StatusMessage(),
				"power_state": m.PowerState(), "seconds": time.Since(t0).Seconds(),
			})
			last = status
		}
		if status == want {
			out := machineSummary(m)
			out["seconds"] = time.Since(t0).Seconds()
			emit(step, out)
			return nil
		}
		if strings.HasPrefix(status, "Failed") || status == "Broken" {
			return fail(step, fmt.Errorf("%s is %q: %s", id, status, m.StatusMessage()))
		}
		if time.Now().Add(interval).After(deadline) {
			break
		}
		time.Sleep(interval)
	}
	return fail(step, fmt.Errorf("%s did not reach %q within %s (last %q)", id, want, timeout, last))
}

func cmdWait(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	id := fs.String("id", "", "system id")
	status := fs.String("status", "Deployed", "status_name to wait for")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after")
	interval := fs.Duration("interval", 2*time.Second, "poll interval")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id == "" || *interval <= 0 {
		return usageError{"wait: -id and a positive -interval are required"}
	}
	return waitFor(c, *id, *status, *timeout, *interval)
}

// kvMap is a repeatable -owner-data key=value flag.
type kvMap map[string]string

func (m kvMap) String() string { return fmt.Sprint(map[string]string(m)) }
func (m kvMap) Set(v string) error {
	i := strings.Index(v, "=")
	if i <= 0 {
		return fmt.Errorf("%q: want key=value", v)
	}
	m[v[:i]] = v[i+1:]
	return nil
}

// tagInstance records owner data on the machine, as Juju tags the machines of its models
// (juju-model-uuid, juju-controller-uuid, juju-is-controller), and reads back what the server
// kept.
func tagInstance(m gomaasapi.Machine, data map[string]string) error {
	if err := m.SetOwnerData(data); err != nil {
		return fail("owner-data", err)
	}
	emit("owner-data", map[string]interface{}{"system_id": m.SystemID(), "owner_data": m.OwnerData()})
	return nil
}

// instances finds a model's machines the way Juju's AllInstances does: machines/?agent_name=,
// then (client side, in gomaasapi) by owner data.
func instances(c gomaasapi.Controller, agentName string, ownerData map[string]string) ([]string, error) {
	machines, err := c.Machines(gomaasapi.MachinesArgs{AgentName: agentName, OwnerData: ownerData})
	if err != nil {
		return nil, fail("instances", err)
	}
	ids := []string{}
	for _, m := range machines {
		ids = append(ids, m.SystemID())
	}
	emit("instances", map[string]interface{}{"agent_name": agentName, "system_ids": ids})
	return ids, nil
}

func cmdOwnerData(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("owner-data", flag.ContinueOnError)
	id := fs.String("id", "", "system id")
	data := kvMap{}
	fs.Var(data, "set", "key=value (repeat; an empty value removes the key)")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := machineByID(c, "owner-data", *id)
	if err != nil {
		return err
	}
	return tagInstance(m, data)
}

func cmdInstances(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("instances", flag.ContinueOnError)
	agentName := fs.String("agent-name", "", "the agent name machines were allocated with")
	data := kvMap{}
	fs.Var(data, "owner-data", "key=value the machines' owner data must hold (repeat)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *agentName == "" {
		return usageError{"instances: -agent-name is required"}
	}
	_, err := instances(c, *agentName, data)
	return err
}

func release(c gomaasapi.Controller, ids []string, comment string) error {
	if err := c.ReleaseMachines(gomaasapi.ReleaseMachinesArgs{SystemIDs: ids, Comment: comment}); err != nil {
		return fail("release", err)
	}
	emit("release", map[string]interface{}{"system_ids": ids})
	return nil
}

func cmdRelease(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	var ids strList
	fs.Var(&ids, "id", "system id (repeat)")
	comment := fs.String("comment", "", "comment")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(ids) == 0 {
		return usageError{"release: at least one -id is required"}
	}
	return release(c, ids, *comment)
}

// cmdCycle is the whole Juju-like flow in one process: allocate by constraints, read the machine
// back, tag it with owner data and find it by agent name (as Juju's StartInstance and
// AllInstances do), deploy it with user data, wait for Deployed, release it and wait for Ready.
func cmdCycle(c gomaasapi.Controller, args []string) error {
	fs := flag.NewFlagSet("cycle", flag.ContinueOnError)
	constraints := allocateFlags(fs)
	startArgs := deployFlags(fs)
	deployTimeout := fs.Duration("deploy-timeout", 10*time.Minute, "bound of the wait for Deployed")
	releaseTimeout := fs.Duration("release-timeout", 5*time.Minute, "bound of the wait for Ready")
	interval := fs.Duration("interval", 2*time.Second, "poll interval")
	ownerData := kvMap{}
	fs.Var(ownerData, "owner-data", "key=value to record on the machine (repeat)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := startArgs()
	if err != nil {
		return err
	}
	if *interval <= 0 {
		return usageError{"cycle: -interval must be positive"}
	}
	a := constraints()
	m, err := allocate(c, a)
	if err != nil {
		return err
	}
	id := m.SystemID()
	read, err := machineByID(c, "read", id)
	if err != nil {
		return err
	}
	emit("read", machineSummary(read))
	if len(ownerData) > 0 {
		if err := tagInstance(m, ownerData); err != nil {
			return err
		}
	}
	if a.AgentName != "" {
		ids, err := instances(c, a.AgentName, ownerData)
		if err != nil {
			return err
		}
		if len(ids) != 1 || ids[0] != id {
			return fail("instances", fmt.Errorf("agent_name %s finds %v, want [%s]", a.AgentName, ids, id))
		}
	}
	if err := deploy(m, s); err != nil {
		return err
	}
	if err := waitFor(c, id, "Deployed", *deployTimeout, *interval); err != nil {
		return err
	}
	if err := release(c, []string{id}, ""); err != nil {
		return err
	}
	return waitFor(c, id, "Ready", *releaseTimeout, *interval)
}
