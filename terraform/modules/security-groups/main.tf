# The runtime's security group: gRPC only from the workers' CIDR blocks,
# metrics only from the monitoring CIDR blocks, and HTTPS out (S3 through the
# gateway endpoint, ECR, CloudWatch Logs). Nothing else in or out.

resource "aws_security_group" "runtime" {
  name        = "${var.name}-runtime"
  description = "PulseCheckpoint runtime: gRPC from workers, metrics from monitoring"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-runtime", Module = "pulse-security-groups" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "grpc_from_workers" {
  for_each = toset(var.worker_cidr_blocks)

  security_group_id = aws_security_group.runtime.id
  description       = "gRPC from workers"
  ip_protocol       = "tcp"
  from_port         = var.grpc_port
  to_port           = var.grpc_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "metrics_from_monitoring" {
  for_each = toset(var.monitoring_cidr_blocks)

  security_group_id = aws_security_group.runtime.id
  description       = "metrics and health from monitoring"
  ip_protocol       = "tcp"
  from_port         = var.metrics_port
  to_port           = var.metrics_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "https_out" {
  security_group_id = aws_security_group.runtime.id
  description       = "HTTPS to S3, ECR and CloudWatch Logs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}
