{{/*
Labels shared by every object. No helm.sh/chart or release labels: the kustomize copy in
deploy/kustomize is generated from this chart and must stay identical, and the Deployment
selector below must never change (it is immutable on a live object).
*/}}
{{- define "catalyst-api.labels" -}}
app.kubernetes.io/name: catalyst-api
app.kubernetes.io/component: api
{{- end }}

{{- define "catalyst-api.selectorLabels" -}}
app.kubernetes.io/name: catalyst-api
{{- end }}

{{- define "catalyst-api.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Namespace of the kinds ConfigMap (and of the Role that lets the API read it). */}}
{{- define "catalyst-api.kindsNamespace" -}}
{{ .Values.k8scache.kindsConfigMap.namespace | default .Release.Namespace }}
{{- end }}

{{/* "true" when the API reads the kinds ConfigMap from the cluster at startup. */}}
{{- define "catalyst-api.readsKinds" -}}
{{ ne (.Values.k8scache.kindsConfigMap.name | default "") "" }}
{{- end }}
