// Misspelled keys get a did-you-mean.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requries = "Admin.Write")]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }

    #[tool(public, descripton = "Who am I")]
    async fn whoami(&self) -> String {
        "me".into()
    }
}

fn main() {}
