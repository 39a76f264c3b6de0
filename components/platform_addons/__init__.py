"""Platform components the application systems need, each installed once per stack when an enabled system asks
for it (`components.apps.spec.AppsConfig.addons`): Gateway API CRDs, prometheus-adapter, the Vertical Pod
Autoscaler, the DCGM exporter, storage classes, KServe, MLflow and its artifact bucket."""
