{{/*
symmetric-routing.validate.vrfs: the VRFs as a whole, as a JSON list of messages: a release
installs at least one (else it would install only the hooks' RBAC, Job and ConfigMap, for
nothing), and each VRF has its tableId (its ports: _ports.tpl). A VRF key that only a later values file
sets (`pya:` for `pay-a:`) lacks both: Helm merges the files into a new, partial VRF, so the
message names the near key. Takes the context of templates/validate/values.yaml.
*/}}
{{- define "symmetric-routing.validate.vrfs" -}}
{{- $errors := list }}
{{- $vrfs := .vrfs }}
{{- /* an upgrade to no VRF is how the prune takes every VRF off the nodes (cleanup.onUpgrade);
helm template and Argo CD render as an install */}}
{{- if and (empty $vrfs) .root.Release.IsInstall }}
{{- $errors = append $errors "vrfs: no VRF, so this release would install nothing but its hooks' RBAC, Job and ConfigMap: add a VRF under vrfs (README: Install), or check that every values file is passed with -f (Argo CD: helm.valueFiles). To take an installed release's VRFs off the nodes, upgrade it with no VRF, or uninstall it" }}
{{- end }}
{{- range $vrfName, $vrf := $vrfs }}
{{- $missing := list }}
{{- range $field := list "tableId" "ports" }}
{{- if not (hasKey $vrf $field) }}
{{- $missing = append $missing $field }}
{{- end }}
{{- end }}
{{- /* near keys only for a VRF that lacks both: comparing every key with every other costs
     O(VRFs^2) edit distances (most of the render at 500 VRFs) */}}
{{- $near := list }}
{{- if eq (len $missing) 2 }}
{{- $near = include "symmetric-routing.nearKeys" (dict "key" $vrfName "among" (keys $vrfs)) | fromJsonArray }}
{{- end }}
{{- if and (eq (len $missing) 2) $near }}
{{- $errors = append $errors (printf "vrfs.%s: sets only %s, with no tableId or ports: no values file defines VRF %s whole, so a later file changes a VRF under a misspelt key; did you mean %s? Fix the key, or give the new VRF its tableId and ports" $vrfName (keys $vrf | sortAlpha | join ", " | default "nothing") $vrfName (join " or " $near)) }}
{{- else if has "tableId" $missing }}
{{- /* the ports: validate/_ports.tpl */}}
{{- $errors = append $errors (printf "vrfs.%s.tableId: missing: every VRF needs its routing table id (nmstate route-table-id), also the EgressServices' network, e.g. `tableId: 10`" $vrfName) }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}
