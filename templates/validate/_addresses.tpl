{{/*
symmetric-routing.ipBits: an IPv4 or IPv6 address (the schema has checked its form) as its
bits, "0" and "1", 32 or 128 of them, so that the address rules compare addresses as equal
length strings. IPv6 "::" stands for as many zero groups as the address lacks (RFC 4291 2.2).
*/}}
{{- define "symmetric-routing.ipBits" -}}
{{- $bits := "" }}
{{- if contains ":" . }}
{{- $halves := splitList "::" . }}
{{- $head := compact (splitList ":" (first $halves)) }}
{{- $tail := list }}
{{- if gt (len $halves) 1 }}
{{- $tail = compact (splitList ":" (last $halves)) }}
{{- end }}
{{- $groups := $head }}
{{- range until (sub 8 (add (len $head) (len $tail)) | int) }}
{{- $groups = append $groups "0" }}
{{- end }}
{{- range concat $groups $tail }}
{{- $bits = printf "%s%016b" $bits (int (printf "0x%s" .)) }}
{{- end }}
{{- else }}
{{- range splitList "." . }}
{{- $bits = printf "%s%08b" $bits (atoi .) }}
{{- end }}
{{- end }}
{{- $bits }}
{{- end }}

{{/*
symmetric-routing.ipBlock: the addresses of a CIDR ("10.0.0.0/24", host bits allowed, as in
a port's address), a range ("10.0.0.10-10.0.0.20", MetalLB's pool form) or one address, as
JSON: family (4 or 6), first and last (in ipBits form), prefix (the CIDR's length; the full
length otherwise), and address (the address of a CIDR, in ipBits form).
symmetric-routing.ipBlocks makes them: it sets the block of each address of .addresses
that the dict .blocks lacks (address -> block), so that the rules, which read most
addresses several times (a route to 0.0.0.0/0 in every VRF, a gateway that is also a peer),
make each block once per render and decode no JSON. Prints nothing. Takes a dict: blocks,
addresses.
*/}}
{{- define "symmetric-routing.ipBlock" -}}
{{- $one := dict }}
{{- include "symmetric-routing.ipBlocks" (dict "blocks" $one "addresses" (list .)) }}
{{- get $one . | toJson }}
{{- end }}

{{- define "symmetric-routing.ipBlocks" -}}
{{- $blocks := .blocks }}
{{- range $given := .addresses }}
{{- if not (hasKey $blocks $given) }}
{{- $text := $given | toString | nospace }}
{{- $family := ternary 6 4 (contains ":" $text) }}
{{- $width := ternary 128 32 (eq $family 6) }}
{{- if contains "-" $text }}
{{- $ends := splitList "-" $text }}
{{- $first := include "symmetric-routing.ipBits" (first $ends) }}
{{- $_ := set $blocks $given (dict "family" $family "first" $first "last" (include "symmetric-routing.ipBits" (last $ends)) "prefix" $width "address" $first) }}
{{- else }}
{{- $parts := splitList "/" $text }}
{{- $address := include "symmetric-routing.ipBits" (first $parts) }}
{{- $prefix := ternary (atoi (last $parts)) $width (gt (len $parts) 1) }}
{{- $net := substr 0 $prefix $address }}
{{- $rest := sub $width $prefix | int }}
{{- $_ := set $blocks $given (dict "family" $family "first" (printf "%s%s" $net (repeat $rest "0")) "last" (printf "%s%s" $net (repeat $rest "1")) "prefix" $prefix "address" $address) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.blocksOverlap: "true" when two ipBlock dicts share an address.
Takes a dict: a, b.
*/}}
{{- define "symmetric-routing.blocksOverlap" -}}
{{- and (eq (toString .a.family) (toString .b.family)) (le .a.first .b.last) (le .b.first .a.last) }}
{{- end }}

{{/*
symmetric-routing.blockHolds: "true" when the ipBlock dict a holds every address of b.
Takes a dict: a, b.
*/}}
{{- define "symmetric-routing.blockHolds" -}}
{{- and (eq (toString .a.family) (toString .b.family)) (le .a.first .b.first) (ge .a.last .b.last) }}
{{- end }}

{{/*
symmetric-routing.portAddresses: what the address rules know of a VRF's ports, as JSON
{"<port>": {"ipv4": [...], "ipv6": [...], "dynamic": ["ipv4", ...]}} (an empty list comes
back as null: read each with `| default list`): the static addresses
of `ports` and of every node of its `nodes` table, and the families a port takes by DHCP or
autoconf, whose subnets only the nodes know. Takes the VRF.
*/}}
{{- define "symmetric-routing.portAddresses" -}}
{{- $vrf := . }}
{{- $out := dict }}
{{- range $name, $port := ($vrf.ports | default dict) }}
{{- $entry := dict "ipv4" list "ipv6" list "dynamic" list }}
{{- range $family := list "ipv4" "ipv6" }}
{{- $value := get ($port | default dict) $family }}
{{- if kindIs "slice" $value }}
{{- $_ := set $entry $family (concat (get $entry $family) $value) }}
{{- else if $value }}
{{- $_ := set $entry "dynamic" (append $entry.dynamic $family) }}
{{- end }}
{{- end }}
{{- range $node := values ($vrf.nodes | default dict) }}
{{- $given := get ($node | default dict) $name }}
{{- range (kindIs "slice" $given | ternary $given (list $given)) }}
{{- if . }}
{{- $family := contains ":" . | ternary "ipv6" "ipv4" }}
{{- $_ := set $entry $family (append (get $entry $family) .) }}
{{- end }}
{{- end }}
{{- end }}
{{- $_ := set $out $name $entry }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
symmetric-routing.rangeLowestMask: the shortest prefix among the CIDRs a `first-last` range
splits into, as MetalLB computes it for a range pool (metallb internal/config/config.go
validateBGPAdvPerPool, lowestMask): the width less the size (2^k) of the largest aligned
block inside the range. A block of 2^k fits in the range's lower half (below where first and
last part) unless rounding first up to it would leave the half, and in its upper half unless
rounding last down would; the whole range is one block when first ends in zeros and last in
ones from where they part. Takes an ipBlock dict of the range; prints a number.
*/}}
{{- define "symmetric-routing.rangeLowestMask" -}}
{{- $a := .first }}
{{- $b := .last }}
{{- $width := len $a }}
{{- $common := 0 }}
{{- $parted := false }}
{{- range $i := until $width }}
{{- if and (not $parted) (eq (substr $i (add $i 1 | int) $a) (substr $i (add $i 1 | int) $b)) }}
{{- $common = add $i 1 | int }}
{{- else }}
{{- $parted = true }}
{{- end }}
{{- end }}
{{- if eq $common $width }}
{{- $width }}
{{- else if and (regexMatch "^0*$" (substr $common $width $a)) (regexMatch "^1*$" (substr $common $width $b)) }}
{{- $common }}
{{- else }}
{{- $largest := 0 }}
{{- range $k := until (sub $width $common | int) }}
{{- $low := sub $width $k | int }}
{{- $left := or (regexMatch "^0*$" (substr $low $width $a)) (contains "0" (substr (add $common 1 | int) $low $a)) }}
{{- $right := or (regexMatch "^1*$" (substr $low $width $b)) (contains "1" (substr (add $common 1 | int) $low $b)) }}
{{- if or $left $right }}
{{- $largest = $k }}
{{- end }}
{{- end }}
{{- sub $width $largest }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.routePort: the port a VRF route leaves through, as the rules see it: its
nextHopInterface, else the VRF's only port; empty when the VRF has several (_ports.tpl
reports that). Takes a dict: route, ports.
*/}}
{{- define "symmetric-routing.routePort" -}}
{{- .route.nextHopInterface | default (ternary (keys .ports | first) "" (eq (len .ports) 1)) }}
{{- end }}
