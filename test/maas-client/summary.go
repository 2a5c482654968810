package main

import "github.com/juju/gomaasapi"

// machineSummary is what the tests assert on: every field gomaasapi parsed, read back through
// its Machine interface (so a value here passed gomaasapi's schema checks).
func machineSummary(m gomaasapi.Machine) map[string]interface{} {
	out := map[string]interface{}{
		"system_id":      m.SystemID(),
		"hostname":       m.Hostname(),
		"fqdn":           m.FQDN(),
		"status_name":    m.StatusName(),
		"status_message": m.StatusMessage(),
		"power_state":    m.PowerState(),
		"architecture":   m.Architecture(),
		"cpu_count":      m.CPUCount(),
		"memory":         m.Memory(),
		"osystem":        m.OperatingSystem(),
		"distro_series":  m.DistroSeries(),
		"tag_names":      nonNil(m.Tags()),
		"ip_addresses":   nonNil(m.IPAddresses()),
		"owner_data":     m.OwnerData(),
		"hardware_info":  m.HardwareInfo(),
	}
	if z := m.Zone(); z != nil {
		out["zone"] = z.Name()
	}
	if p := m.Pool(); p != nil {
		out["pool"] = p.Name()
	}
	if b := m.BootInterface(); b != nil {
		out["boot_interface"] = b.Name()
	}
	var ifaces []map[string]interface{}
	for _, i := range m.InterfaceSet() {
		ifaces = append(ifaces, interfaceSummary(i))
	}
	out["interfaces"] = nonNilMaps(ifaces)
	var disks []map[string]interface{}
	for _, d := range m.BlockDevices() {
		disks = append(disks, map[string]interface{}{
			"id": d.ID(), "name": d.Name(), "path": d.Path(), "size": d.Size(),
			"block_size": d.BlockSize(), "partitions": len(d.Partitions()),
		})
	}
	out["block_devices"] = nonNilMaps(disks)
	out["physical_block_devices"] = len(m.PhysicalBlockDevices())
	return out
}

func interfaceSummary(i gomaasapi.Interface) map[string]interface{} {
	var links []map[string]interface{}
	for _, l := range i.Links() {
		link := map[string]interface{}{"id": l.ID(), "mode": l.Mode(), "ip_address": l.IPAddress()}
		if s := l.Subnet(); s != nil {
			link["subnet_cidr"] = s.CIDR()
		}
		links = append(links, link)
	}
	out := map[string]interface{}{
		"id": i.ID(), "name": i.Name(), "type": i.Type(), "enabled": i.Enabled(),
		"mac_address": i.MACAddress(), "effective_mtu": i.EffectiveMTU(), "links": nonNilMaps(links),
	}
	if v := i.VLAN(); v != nil {
		out["vlan"] = map[string]interface{}{"id": v.ID(), "vid": v.VID(), "fabric": v.Fabric()}
	}
	return out
}

// constraintSummary maps each storage/interface constraint label to the matched ids.
func constraintSummary(cm gomaasapi.ConstraintMatches) map[string]interface{} {
	storage := map[string][]int{}
	for label, devices := range cm.Storage {
		for _, d := range devices {
			storage[label] = append(storage[label], d.ID())
		}
	}
	interfaces := map[string][]int{}
	for label, list := range cm.Interfaces {
		for _, i := range list {
			interfaces[label] = append(interfaces[label], i.ID())
		}
	}
	return map[string]interface{}{"storage": storage, "interfaces": interfaces}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMaps(s []map[string]interface{}) []map[string]interface{} {
	if s == nil {
		return []map[string]interface{}{}
	}
	return s
}
