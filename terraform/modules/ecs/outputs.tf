output "cluster_name" {
  description = "Name of the ECS cluster"
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster"
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "Name of the runtime's ECS service"
  value       = aws_ecs_service.runtime.name
}

output "task_definition_arn" {
  description = "ARN of the runtime's task definition"
  value       = aws_ecs_task_definition.runtime.arn
}

output "log_group_name" {
  description = "CloudWatch Logs group of the runtime"
  value       = aws_cloudwatch_log_group.runtime.name
}

output "grpc_endpoint" {
  description = "Address workers connect to"
  value       = "${aws_service_discovery_service.runtime.name}.${aws_service_discovery_private_dns_namespace.this.name}:${var.grpc_port}"
}

output "metrics_endpoint" {
  description = "Address Prometheus scrapes (DNS A records of every task)"
  value       = "${aws_service_discovery_service.runtime.name}.${aws_service_discovery_private_dns_namespace.this.name}:${var.metrics_port}"
}
